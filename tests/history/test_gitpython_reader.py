"""``updater history`` checked against an independent reader of the same repository:
GitPython walks the commits that touch each file and reads their authors, dates,
subjects and trailers its own way, so a mistake shared by the bot's git code and the
tests' ``git`` helper cannot hide here."""

from __future__ import annotations

from datetime import datetime

import git as gitpython

from tests.history.test_history import API, DEV, PROD, STAGING, VALUES, built
from tests.support.history import Repo


def test_history_matches_what_gitpython_reads(repo: Repo) -> None:
    built(repo)
    changes = repo.history(API)
    with gitpython.Repo(repo.path) as reader:
        # every commit that touched one of these files changed the API's version there
        touched = {
            (commit.hexsha, path)
            for path in (DEV, STAGING, PROD, VALUES)
            for commit in reader.iter_commits("HEAD", paths=path)
        }
        assert {(c["commit"], c["file"]) for c in changes} == touched
        for change in changes:
            commit = reader.commit(change["commit"])
            assert change["author"] == f"{commit.author.name} <{commit.author.email}>"
            assert change["subject"] == str(commit.message).splitlines()[0]
            assert datetime.fromisoformat(change["date"]) == commit.committed_datetime
            bot = any(key == "Image-Updated" for key, _ in commit.trailers_list)
            assert change["by"] == ("bot" if bot else "manual")
