"""An independent check of the edit rule, used by corpus and property tests."""

from __future__ import annotations

import difflib
import re

from updater.edit.model import FileEdit, Record

INSERTED_LINE = re.compile(r"^\s*(- )?(images|name|newName|newTag|digest|tag):( .*)?$")


def _same_but_value(old: str, new: str, number: int, replaced: list[Record]) -> bool:
    restored = new
    for record in replaced:
        if record.line == number:
            if record.old:
                restored = restored.replace(record.new, record.old, 1)
            else:
                restored = restored.replace(f'"{record.new}"', '""', 1)
    if restored == old:
        return True
    return restored.replace('"', "").replace("'", "") == old.replace('"', "").replace("'", "")


def assert_only_values_changed(edit: FileEdit) -> None:
    """Lines differ only where a record says, and only by the recorded value (quotes
    may be added around a value that needs them); every other new line is a key the
    records say was inserted."""
    # Without line ends: adding a key after a last line with no newline gives that
    # line one, and that is not a change of its content.
    old_lines = edit.old_text.splitlines()
    new_lines = edit.new_text.splitlines()
    replaced = [r for r in edit.records if not r.inserted]
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
    assert bool(inserted_count) == any(r.inserted for r in edit.records)
    assert edit.old_text.startswith("\ufeff") == edit.new_text.startswith("\ufeff")
    assert edit.old_text.count("\r\n") <= edit.new_text.count("\r\n")
