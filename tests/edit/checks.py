"""An independent check of the edit rule, used by corpus and property tests."""

from __future__ import annotations

import dataclasses
import difflib
import re

from updater.edit.model import FileEdit, Record

INSERTED_LINE = re.compile(r"^\s*(- )?(images|name|newName|newTag|digest|tag):( .*)?$")


def _token_length(text: str, value: str) -> int:
    """Length of a scalar written at the start of ``text`` (quoted or plain)."""
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = 1
        while True:
            end = text.index(quote, end)
            if quote == "'" and text[end + 1 : end + 2] == "'":
                end += 2
                continue
            return end + 1
    assert text.startswith(value), f"{text!r} does not start with {value!r}"
    return len(value)


def _same_but_value(old: str, new: str, number: int, replaced: list[Record]) -> bool:
    """The line is the old one with exactly the recorded scalar(s) rewritten in place."""
    records = sorted((r for r in replaced if r.line == number), key=lambda r: -r.column)
    if not records:
        return old == new
    for record in records:
        start = record.column - 1
        if old[:start] != new[:start]:
            return False
        try:
            old_end = start + _token_length(old[start:], record.old)
            new_end = start + _token_length(new[start:], record.new)
        except (AssertionError, ValueError):
            return False
        if old[old_end:] != new[new_end:]:
            return False
        old, new = old[:start], new[:start]
    return old == new


_KEY_BEFORE = re.compile(r"([A-Za-z]+):[ \t]*$")


def _cut_removed(lines: list[str], records: list[Record]) -> list[Record]:
    """Take the keys the records say were removed out of ``lines`` (in place), the way
    a person would: the key's line, or the key after ``- `` (the next key moves up), or
    the key in a flow mapping. Returns the other records, their lines renumbered."""
    kept = [r for r in records if not r.removed]
    for removed in sorted((r for r in records if r.removed), key=lambda r: -r.line):
        index = removed.line - 1
        line = lines[index]
        start = removed.column - 1
        key = _KEY_BEFORE.search(line[:start])
        assert key, f"no key before the removed value in {line!r}"
        end = start + _token_length(line[start:], removed.old)
        head = line[: key.start()]
        if head.strip() in ("", "-") and not line[end:].strip().startswith((",", "}")):
            if head.strip() == "-":
                following = lines[index + 1]
                indent = len(head)
                assert not following[:indent].strip(), f"cannot lift {following!r}"
                lines[index : index + 2] = [head + following[indent:]]
            else:
                del lines[index]
            kept = [
                dataclasses.replace(r, line=r.line - 1) if r.line > removed.line else r
                for r in kept
            ]
        elif line[end:].lstrip().startswith(","):
            rest = line[end:].lstrip()[1:].lstrip()
            lines[index] = line[: key.start()] + rest
        else:
            comma = line.rindex(",", 0, key.start())
            lines[index] = line[:comma] + line[end:]
    return kept


def assert_only_values_changed(edit: FileEdit) -> None:
    """Lines differ only where a record says, and only by the recorded value (quotes
    may be added around a value that needs them); every other new line is a key the
    records say was inserted."""
    # Without line ends: adding a key after a last line with no newline gives that
    # line one, and that is not a change of its content.
    old_lines = edit.old_text.splitlines()
    new_lines = edit.new_text.splitlines()
    records = _cut_removed(old_lines, list(edit.records))
    replaced = [r for r in records if not r.inserted]
    inserted_count = 0
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        assert tag in ("insert", "replace"), f"lines removed: {old_lines[a1:a2]!r}"
        pending = list(new_lines[b1:b2])
        for number in range(a1 + 1, a2 + 1):
            old = old_lines[number - 1]
            while pending and not _same_but_value(old, pending[0], number, replaced):
                line = pending.pop(0)
                assert INSERTED_LINE.match(line), f"unexpected line {line!r}"
                inserted_count += 1
            assert pending, f"line {number}: more than the value changed: {old!r}"
            pending.pop(0)
        for line in pending:
            assert INSERTED_LINE.match(line), f"unexpected line {line!r}"
            inserted_count += 1
    assert bool(inserted_count) == any(r.inserted for r in records)
    assert edit.old_text.startswith("\ufeff") == edit.new_text.startswith("\ufeff")
    assert edit.old_text.count("\r\n") <= edit.new_text.count("\r\n")
