"""Real git histories built in the tests: commits by hand and by the bot (through the
CLI), each at a date of the test's choosing (GIT_COMMITTER_DATE / GIT_AUTHOR_DATE), so
soak and --since are judged on time-travelled commits, never on the clock's progress.
Used by the history, rollback and promote (soak) tests, in the git sandbox."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.support.cli import run
from tests.support.repos import git


def hours_ago(hours: float) -> str:
    """A commit date ``hours`` before now, to the second."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return (now - timedelta(hours=hours)).isoformat()


@contextmanager
def dated(when: str | None) -> Iterator[None]:
    """Commits made inside carry ``when`` as author and committer date."""
    saved = {k: os.environ.get(k) for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
    if when is not None:
        os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = when
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Repo:
    """A config repo with a history: ``edit`` commits by hand, ``bot`` through the CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")

    def write(self, files: Mapping[str, str | None]) -> None:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def edit(
        self,
        files: Mapping[str, str | None],
        message: str = "hand edit",
        *,
        when: str | None = None,
        author: str = "Alice <alice@example.com>",
    ) -> str:
        self.write(files)
        name, _, email = author.partition(" <")
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">")}
        with dated(when):
            git(self.path, "add", "-A")
            git(self.path, "commit", "-q", "-m", message, env=env)
        return self.head()

    def bot(self, *args: str, when: str | None = None) -> str:
        """``updater ARGS --commit`` on the repo (set-image, rollback, promote)."""
        with dated(when):
            result = run(*args[:1], "--repo", str(self.path), *args[1:], "--commit")
        assert result.exit_code == 0, result.output
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD").strip()

    def history(self, *args: str) -> list[dict[str, Any]]:
        result = run("history", "--repo", str(self.path), "--json", *args)
        assert result.exit_code == 0, result.output
        changes: list[dict[str, Any]] = json.loads(result.stdout)["changes"]
        return changes
