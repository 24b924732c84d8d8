"""An independent check of the edit rule, used by corpus and property tests."""

from __future__ import annotations

import difflib

from updater.edit.model import FileEdit


def assert_only_values_changed(edit: FileEdit) -> None:
    """Lines differ only where a record says, and only by the recorded value (quotes
    may be added around a value that needs them); inserted lines are exactly the keys
    the records add."""
    old_lines = edit.old_text.splitlines(keepends=True)
    new_lines = edit.new_text.splitlines(keepends=True)
    replaced = [r for r in edit.records if not r.inserted]
    inserted = [r for r in edit.records if r.inserted]
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            for line in new_lines[b1:b2]:
                assert any(
                    r.new.strip('"') in line or "images:" in line or "name:" in line
                    for r in inserted
                ), f"unexpected new line {line!r}"
            continue
        assert tag == "replace" and a2 - a1 == b2 - b1, f"lines changed shape: {tag}"
        for number, (old, new) in enumerate(
            zip(old_lines[a1:a2], new_lines[b1:b2], strict=True), a1 + 1
        ):
            restored = new
            for record in replaced:
                if record.line == number:
                    if record.old:
                        restored = restored.replace(record.new, record.old, 1)
                    else:
                        restored = restored.replace(f'"{record.new}"', '""', 1)
            unquoted_old = old.replace('"', "").replace("'", "")
            unquoted_new = restored.replace('"', "").replace("'", "")
            assert restored == old or unquoted_new == unquoted_old, (
                f"line {number}: more than the value changed: {old!r} -> {new!r}"
            )
    assert edit.old_text.startswith("\ufeff") == edit.new_text.startswith("\ufeff")
    assert edit.old_text.count("\r\n") <= edit.new_text.count("\r\n")
