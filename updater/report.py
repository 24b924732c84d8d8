"""Render a plan for people and programs: unified diff, JSON, tables, commit messages."""

from __future__ import annotations

import difflib

from updater.edit.model import Plan


def render_diff(plan: Plan, *, color: bool = False) -> str:
    chunks: list[str] = []
    for edit in plan.edits:
        lines = difflib.unified_diff(
            edit.old_text.splitlines(keepends=True),
            edit.new_text.splitlines(keepends=True),
            fromfile=f"a/{edit.path}",
            tofile=f"b/{edit.path}",
        )
        for line in lines:
            if not line.endswith("\n"):
                line += "\n\\ No newline at end of file\n"
            if color and line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                line = ("\x1b[32m" if line[0] == "+" else "\x1b[31m") + line.rstrip("\n") + "\x1b[0m\n"
            chunks.append(line)
    return "".join(chunks)
