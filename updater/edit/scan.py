"""Which files are candidates, and every reference in a file, by kind."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.nodes import Node

from updater.edit import argocd, helm, kustomize, manifests, markers
from updater.edit.document import (
    Document,
    decode,
    get,
    is_mapping,
    is_scalar,
    is_sequence,
    parse,
)
from updater.edit.model import ScanResult, Skipped
from updater.edit.site import Site, Skip
from updater.errors import EditError, UsageError

YAML_SUFFIXES = (".yaml", ".yml")
# Version control internals: not the repository's content, never listed.
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
# Directories that hold no deployed configuration, and why (``scan --skipped`` lists them).
SKIPPED_DIR_REASONS = {
    ".github": "GitHub settings and CI workflows, not deployed configuration",
    "node_modules": "npm packages, not deployed configuration",
}
# Files in a config repo that are not deployed configuration, and why.
SKIPPED_FILE_REASONS = {
    ".image-updater.yaml": "the updater's own configuration",
    ".image-updater.yml": "the updater's own configuration",
    ".pre-commit-config.yaml": "pre-commit configuration, not deployed configuration",
}
CI_FILE = "CI file, not deployed configuration"
CHART_TEMPLATES = "Helm chart templates (Go templates, not YAML to edit)"
GO_TEMPLATE = "Go template, not YAML to edit"
HELM_RELEASE_GROUP = "helm.toolkit.fluxcd.io"
# "# image: nginx:1.25" and friends: worth telling a user why scan did not list them.
COMMENTED_OUT = re.compile(
    r"^[ \t]*#[ \t]*(?:-[ \t]+)?(?:image|newTag|newName|repository):[ \t]*([^\s#]+)", re.MULTILINE
)


@dataclass(frozen=True)
class Candidate:
    path: str  # to open; a str, not a Path: a large repo lists thousands
    relative: str  # with '/', for messages and reports
    explicit: bool = False  # named (or directly under a directory named) by --path

    @property
    def name(self) -> str:
        return self.relative.rpartition("/")[2]

    def read(self) -> bytes:
        with open(self.path, "rb") as stream:
            return stream.read()


def is_candidate_name(name: str) -> bool:
    return name.endswith(YAML_SUFFIXES) or name == "Kustomization"


def file_skip_reason(relative: str) -> str | None:
    """Why a YAML file found by the walk is not a config file, or None if it is one.
    CI pipelines name images they run, not images they deploy."""
    name = relative.rpartition("/")[2]
    reason = SKIPPED_FILE_REASONS.get(name)
    if reason is not None:
        return reason
    if name.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return CI_FILE  # .gitlab-ci.yml, and includes such as deploy.gitlab-ci.yml
    rooted = "/" + relative
    if "/.gitlab/ci/" in rooted or "/.github/workflows/" in rooted:
        return CI_FILE
    return None


def dir_skip_reason(name: str, sibling_names: frozenset[str]) -> str | None:
    """Why a directory is not walked ("" for version control internals, which are never
    listed), or None to walk it. ``sibling_names``: the names beside it."""
    if name in VCS_DIRS:
        return ""
    if name == "templates" and "Chart.yaml" in sibling_names:
        return CHART_TEMPLATES
    return SKIPPED_DIR_REASONS.get(name)


def candidates(
    root: Path, paths: Sequence[str] = (), skipped: list[Skipped] | None = None
) -> Iterator[Candidate]:
    """Every YAML file under ``root`` (or under each of ``paths``), sorted, each once;
    the files and directories passed over for what they are go into ``skipped``.

    A file that is a symlink leaving the repo is an error; directory symlinks are not
    followed (they would make files appear twice or leave the repo).
    """
    real_root = root.resolve()
    starts = [_inside(root, real_root, p) for p in paths] if paths else [root]
    seen: set[str] = set()
    for start in starts:
        explicit = bool(paths)
        if start.is_file():
            found: Iterator[Candidate] = iter([_candidate(root, real_root, start, explicit)])
        else:
            found = _walk(root, real_root, start, explicit, skipped)
        for candidate in found:
            if candidate.relative not in seen:
                seen.add(candidate.relative)
                yield candidate


def _inside(root: Path, real_root: Path, given: str) -> Path:
    path = (root / given) if not os.path.isabs(given) else Path(given)
    if not path.exists():
        raise UsageError(f"--path {given}: no such file or directory in {root}")
    if not path.resolve().is_relative_to(real_root):
        raise EditError(f"--path {given}: leaves the repository")
    return path


def _walk(
    root: Path, real_root: Path, start: Path, explicit: bool, skipped: list[Skipped] | None
) -> Iterator[Candidate]:
    """os.scandir depth first, sorted: DirEntry answers "symlink? directory?" from the
    directory listing, where Path objects would stat every file again."""
    prefix = "" if start == root else start.relative_to(root).as_posix() + "/"
    stack = [(str(start), prefix, explicit)]
    while stack:
        directory, relative, direct = stack.pop()
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        if (
            relative == prefix
            and os.path.basename(directory) == "templates"
            and os.path.exists(os.path.join(os.path.dirname(directory), "Chart.yaml"))
        ):
            _note(skipped, relative, CHART_TEMPLATES)  # --path named a chart's templates/
            continue
        names = frozenset(e.name for e in entries)
        subdirectories = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                reason = dir_skip_reason(entry.name, names)
                if reason is None:
                    subdirectories.append((entry.path, f"{relative}{entry.name}/", False))
                elif reason:
                    _note(skipped, f"{relative}{entry.name}/", reason)
            elif is_candidate_name(entry.name):
                reason = file_skip_reason(f"{relative}{entry.name}")
                if reason is not None:
                    _note(skipped, f"{relative}{entry.name}", reason)
                    continue
                if entry.is_symlink():
                    _check_link(Path(entry.path), f"{relative}{entry.name}", real_root)
                yield Candidate(entry.path, f"{relative}{entry.name}", direct)
        stack.extend(reversed(subdirectories))


def _note(skipped: list[Skipped] | None, relative: str, reason: str) -> None:
    if skipped is not None:
        skipped.append(Skipped(relative, 0, "", reason))


def _check_link(path: Path, relative: str, real_root: Path) -> None:
    if not path.resolve().is_relative_to(real_root):
        raise EditError(f"{relative}: symlink leaves the repository ({os.readlink(path)})")


def _candidate(root: Path, real_root: Path, path: Path, explicit: bool) -> Candidate:
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if path.is_symlink():
        _check_link(path, relative, real_root)
    return Candidate(path=str(path), relative=relative, explicit=explicit)


def load(candidate: Candidate, raw: bytes | None = None) -> Document:
    data = candidate.read() if raw is None else raw
    document = parse(decode(data, candidate.relative), candidate.relative)
    return dataclasses.replace(document, source=candidate.path)


# A line that starts with a template action (at column 0: indented, it may be a block
# scalar's text): a Go (Helm) or Jinja template, whatever
# else the file looks like.
_TEMPLATE_LINE = re.compile(r"^(?:\{\{|\{%)", re.MULTILINE)


def read_document(candidate: Candidate, raw: bytes) -> Document | Skipped:
    """The parsed file, or why it is not YAML to edit: a Go template outside a chart's
    ``templates/`` (a chart's ``files/``, ``conf/``, ``crds/``) is passed over, while
    other malformed YAML stays an error."""
    templated = b"{{" in raw or b"{%" in raw
    if templated:
        text = raw.decode("utf-8", errors="replace")
        match = _TEMPLATE_LINE.search(text)
        if match is not None:
            line = text.count("\n", 0, match.start()) + 1
            return Skipped(candidate.relative, line, "", GO_TEMPLATE)
    try:
        document = load(candidate, raw)
    except EditError as error:
        if not templated:
            raise
        where = str(error).partition(": ")[0].rpartition(":")[2]
        return Skipped(candidate.relative, int(where) if where.isdigit() else 0, "", GO_TEMPLATE)
    line = _template_action_line(document) if templated else 0
    return Skipped(candidate.relative, line, "", GO_TEMPLATE) if line else document


def _template_action_line(document: Document) -> int:
    """An unquoted ``{{ .Values.x }}`` parses as a mapping used as a key, which no
    config file has: the line of the first one, or 0."""
    stack = list(document.roots)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if is_mapping(node):
            for key, value in node.value:
                if is_mapping(key):
                    return int(key.start_mark.line) + 1
                stack.append(value)
        elif is_sequence(node):
            stack.extend(node.value)
    return 0


def find_all(document: Document, file_name: str, *, commented: bool = True) -> list[Site | Skip]:
    """Every site and skipped value of a parsed file, each set of fields once;
    ``commented``: also note commented-out references (for people, not for edits)."""
    found: list[Site | Skip] = []
    seen_fields: dict[frozenset[int], int] = {}

    def add(items: Iterator[Site | Skip]) -> None:
        for item in items:
            if isinstance(item, Site):
                key = frozenset(id(f.node) for f in item.fields.values())
                if key in seen_fields:
                    # A setter marker on a field another kind found: the marker's
                    # explicit policy wins, so aliases reach it.
                    if item.policy is not None:
                        found[seen_fields[key]] = item
                    continue
                seen_fields[key] = len(found)
            found.append(item)

    for root in document.roots:
        add(_root_sites(document, root, file_name))
    add(markers.find(document))
    for match in COMMENTED_OUT.finditer(document.text) if commented else ():
        line = document.text.count("\n", 0, match.start()) + 1
        found.append(Skip(document.path, line, match.group(1), "commented out"))
    return found


def _root_sites(document: Document, root: Node, file_name: str) -> Iterator[Site | Skip]:
    if not is_mapping(root):
        return
    if kustomize.is_kustomization(file_name):
        yield from kustomize.find(document, root)
    elif argocd.is_source_file(file_name):
        yield from argocd.find_in_source(document, root, "")
    elif argocd.is_application(root):
        yield from argocd.find(document, root)
    elif manifests.is_kubernetes_object(root):
        prune: frozenset[int] = frozenset()
        if _is_helm_release(root):
            values = get(get(root, "spec"), "values")
            if is_mapping(values):
                yield from helm.find(document, values, "spec.values")
                prune = frozenset({id(values)})
        if manifests.deploys_images(root):
            yield from manifests.find(document, root, prune)
    elif manifests.is_compose(root):
        yield from manifests.find_compose(document, root)
    else:
        yield from helm.find(document, root)


def _is_helm_release(root: Node) -> bool:
    api_version = get(root, "apiVersion")
    kind = get(root, "kind")
    return (
        is_scalar(api_version)
        and api_version.value.startswith(HELM_RELEASE_GROUP + "/")
        and is_scalar(kind)
        and kind.value == "HelmRelease"
    )


# Every kind of site needs one of these words: image/images/imageTag/$imagepolicy keys
# and markers, or a Helm "repository". A file without them cannot reference an image.
SCAN_NEEDLES = (b"image", b"repository")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing a repo makes millions of small acyclic objects that stay alive; the
    cyclic collector would walk them again and again (a third of a scan's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Below this many candidates a second process costs more than it saves.
PARALLEL_MIN_FILES = 400


def scan_repo(
    root: Path, paths: Sequence[str] = (), *, workers: int = 1, skipped: bool = True
) -> ScanResult:
    """Every reference under ``root``; with ``workers`` > 1 on a large repo, the files
    are split into contiguous runs, one per process (so the order stays the same)."""
    passed_over: list[Skipped] = []
    found = list(candidates(root, paths, passed_over if skipped else None))
    chunks = _chunks(found, workers if len(found) >= PARALLEL_MIN_FILES else 1)
    if len(chunks) == 1 or not _can_fork():
        result = scan_candidates(found, skipped)
        result.skipped[:0] = passed_over
        return result
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(chunks) - 1, mp_context=context) as pool:
        futures = [pool.submit(scan_candidates, chunk, skipped) for chunk in chunks[1:]]
        result = scan_candidates(chunks[0], skipped)
        for future in futures:
            part = future.result()
            result.references.extend(part.references)
            result.skipped.extend(part.skipped)
    result.skipped[:0] = passed_over
    return result


def _chunks(items: list[Candidate], count: int) -> list[list[Candidate]]:
    size = -(-len(items) // max(count, 1)) or 1
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def scan_candidates(found: Sequence[Candidate], skipped: bool = True) -> ScanResult:
    result = ScanResult()
    with gc_paused():
        for candidate in found:
            raw = candidate.read()
            if not any(needle in raw for needle in SCAN_NEEDLES):
                continue
            document = read_document(candidate, raw)
            if isinstance(document, Skipped):
                if skipped:
                    result.skipped.append(document)
                continue
            for item in find_all(document, candidate.name, commented=skipped):
                if isinstance(item, Site):
                    result.references.append(item.reference())
                else:
                    result.skipped.append(item)
    return result
