"""A digest lookup that fails while planning names the file and line that needed it.

The edit engine asks for a digest (``resolve(repository, tag)``) when a reference pins
one and only its tag changes. The registry's error knows the image, not the place in
the repo; so on a failure the plan is made once more, offline, with a stand-in digest
for the image that failed, and the first value that receives the stand-in is the
reference that needed it. Nothing is looked up or written by that second plan.
"""

from __future__ import annotations

from collections.abc import Callable

from updater.edit.model import Plan
from updater.errors import UpdaterError

Resolve = Callable[[str, str], str]

_STAND_IN = "sha256:" + "f" * 64  # for the image whose lookup failed
_OTHERS = "sha256:" + "0" * 64


class _LookupFailed(Exception):
    """Carries a failed lookup out of the planner (not an UpdaterError, so nothing on
    the way mistakes it for a planning error of its own)."""

    def __init__(self, repository: str, tag: str, error: UpdaterError) -> None:
        super().__init__(str(error))
        self.repository = repository
        self.tag = tag
        self.error = error


def plan_locating_digests(make: Callable[[Resolve], Plan], resolve: Resolve) -> Plan:
    """``make(resolve)``; a lookup error raised there comes out as the same error type
    with the file and line of the reference that needed the digest."""

    def guarded(repository: str, tag: str) -> str:
        try:
            return resolve(repository, tag)
        except UpdaterError as error:
            raise _LookupFailed(repository, tag, error) from error

    try:
        return make(guarded)
    except _LookupFailed as failed:
        raise _located(failed, make) from None


def _located(failed: _LookupFailed, make: Callable[[Resolve], Plan]) -> UpdaterError:
    error = failed.error
    if error.file:
        return error

    def stand_in(repository: str, tag: str) -> str:
        return _STAND_IN if (repository, tag) == (failed.repository, failed.tag) else _OTHERS

    try:
        offline = make(stand_in)
    except Exception:  # the place cannot be found; the registry's error still stands
        return error
    for record in offline.records:
        if _STAND_IN in record.new:
            located = type(error).__new__(type(error))
            UpdaterError.__init__(
                located,
                f"{error.message}; needed for the pinned {record.old_ref} ({record.yaml_path})",
                file=record.file,
                line=record.line,
            )
            return located
    return error
