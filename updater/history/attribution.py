"""Who made a commit's changes: the bot (its trailers say so, with the trigger and the
run: see docs/trailers.md) or a person; and whether the commit was a rollback.

Versions always come from the commit's diff: trailers are text anyone can write, so they
attribute a change the commit really made (same file, same repository) and never add
one. A change in a bot commit that its trailers do not name (an amended or squashed
commit) is a manual one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from updater.trailers import ImageChange, ImageRename, parse_trailers, parse_trigger

# ``git revert`` writes this line; a revert undoes a change, whoever made it.
_REVERT = re.compile(r"^This reverts commit [0-9a-f]{7,64}\b", re.MULTILINE)


@dataclass(frozen=True)
class Attribution:
    changes: tuple[ImageChange, ...] = ()  # what the bot's trailers say it changed
    trigger: str | None = None
    run: str | None = None
    rollback: bool = False
    renames: tuple[ImageRename, ...] = ()  # the references the trailers say it renamed

    def by_bot(self, file: str, names: frozenset[str]) -> bool:
        """Whether the trailers name a change of one of ``names`` in ``file``: by the
        repository changed, or by the repository a rename made it deploy."""
        return any(c.file == file and c.repository in names for c in self.changes) or any(
            r.file == file and r.new in names for r in self.renames
        )


def attribute(message: str) -> Attribution:
    reverted = bool(_REVERT.search(message))
    trailers = parse_trailers(message)
    if trailers is None:
        return Attribution(rollback=reverted)
    command = parse_trigger(trailers.trigger)
    return Attribution(
        changes=trailers.changes,
        trigger=trailers.trigger or None,
        run=trailers.run or None,
        rollback=reverted or (command is not None and command.command == "rollback"),
        renames=trailers.renames,
    )
