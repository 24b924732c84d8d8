"""The image references of one version of a file, read by the scan engine itself (the
same kinds, markers and ``# updater: ignore`` as scan and set-image), from a blob's
bytes instead of the working tree."""

from __future__ import annotations

from dataclasses import dataclass

from updater.edit.kinds import find_all
from updater.edit.model import Skipped
from updater.edit.reading import max_file_size
from updater.edit.site import Site
from updater.edit.walk import (
    SCAN_NEEDLES,
    Candidate,
    file_skip_reason,
    is_candidate_name,
    read_document,
)
from updater.errors import EditError


@dataclass(frozen=True)
class Found:
    """One reference in one version of a file."""

    repository: str  # normalised (after a kustomize rename: the new name)
    answers_to: frozenset[str]  # every normalised name it answers to (kustomize ``name``)
    name: str  # as spelled
    tag: str | None
    digest: str | None
    yaml_path: str
    line: int
    kind: str

    @property
    def version(self) -> str:
        return version_text(self.tag, self.digest)


def version_text(tag: str | None, digest: str | None) -> str:
    """TAG, DIGEST or TAG@DIGEST, as the trailers and ``rollback --to`` spell a version;
    "" for neither."""
    return f"{tag}@{digest}" if tag and digest else tag or digest or ""


def is_config_file(path: str) -> bool:
    """Whether a file of the tree is one the scan would read (by its name)."""
    if not is_candidate_name(path.rpartition("/")[2]) or file_skip_reason(path) is not None:
        return False
    rooted = "/" + path
    return "/.github/" not in rooted and "/node_modules/" not in rooted


def references(path: str, data: bytes, needles: tuple[bytes, ...]) -> list[Found] | str:
    """The references in ``data`` (the file ``path`` at some commit), or why it was not
    read (too large, a Go template, not YAML at that commit)."""
    if len(data) > max_file_size():
        return f"larger than {max_file_size()} bytes; not read"
    if not any(needle in data for needle in needles or SCAN_NEEDLES):
        return []
    candidate = Candidate(path, path)
    try:
        document = read_document(candidate, data)
        if isinstance(document, Skipped):
            return document.reason  # a Go template
        items = find_all(document, candidate.name, commented=False)
    except EditError as error:
        return error.message or str(error)
    except Exception as error:  # an old version is not ours to fix: note it, walk on
        return f"not read ({type(error).__name__})"
    found: list[Found] = []
    seen: set[int] = set()
    for item in items:
        if not isinstance(item, Site):
            continue
        repository = item.repository
        if repository is None:
            continue
        # A setter marker on a Helm tag is a second site on the same field: one change.
        where = {int(f.node.start_mark.index) for f in item.fields.values()}
        if where and where <= seen:
            continue
        seen |= where
        found.append(
            Found(
                repository=repository,
                answers_to=frozenset(item.repositories) | {repository},
                name=item.ref.name,
                tag=item.ref.tag,
                digest=item.ref.digest,
                yaml_path=item.path,
                line=_version_line(item),
                kind=item.kind,
            )
        )
    return found


def _version_line(site: Site) -> int:
    """The line of the field holding the version (a Helm tag, a kustomize newTag), which
    is the line a change of version touches."""
    for role in ("tag", "digest", "sha", "ref"):
        field = site.fields.get(role)
        if field is not None:
            return int(field.node.start_mark.line) + 1
    return site.line
