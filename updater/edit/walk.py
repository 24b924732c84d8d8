"""Walking a repo: which files are candidates (and why others are passed over), reading
and parsing each, and every reference under a root (``scan_repo``, which the ``scan``
command prints). What a parsed file references is ``updater.edit.kinds``.

Named for the walk, not "scan": ``updater/commands/scan.py`` is the command."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import gc
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from updater.edit.document import (
    Document,
    decode,
    is_mapping,
    is_sequence,
    parse,
)
from updater.edit.kinds import find_all
from updater.edit.model import ScanResult, Skipped
from updater.edit.reading import (
    DEFAULT_MAX_FILE_SIZE,
    Unreadable,
    kind_of,
    max_file_size,
    read_file,
)
from updater.edit.site import Site
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
# A submodule (or a repository cloned inside this one): its files are another
# repository's, which a commit here cannot change.
NESTED_REPOSITORY = "another git repository (a submodule): its files are not this repository's"
CHART_TEMPLATES = "Helm chart templates (Go templates, not YAML to edit)"
GO_TEMPLATE = "Go template, not YAML to edit"


@dataclass(frozen=True)
class Candidate:
    path: str  # to open: resolved, no symlink; a str, not a Path: a large repo lists thousands
    relative: str  # with '/', for messages and reports (a symlink's own name)
    explicit: bool = False  # named (or directly under a directory named) by --path
    named: bool = False  # named by --path itself, not found under a named directory
    linked: bool = False  # found by the walk through a symlink (``path`` is its target)

    @property
    def name(self) -> str:
        return self.relative.rpartition("/")[2]

    def read(self, limit: int = DEFAULT_MAX_FILE_SIZE) -> bytes:
        """The file's bytes; :class:`~updater.edit.reading.Unreadable` says why not."""
        return read_file(self.path, limit)


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
    the files and directories passed over go into ``skipped``, with the reason.

    Only regular files are candidates. A symlink to a file inside the repo is read
    through its target (passed over when the walk reads that target under its own
    name); one that leaves the repo is an error. Dangling symlinks,
    symlink loops, symlinks to directories, FIFOs, sockets and devices are never opened:
    each is passed over with the reason. Directory symlinks are not followed
    (they would make files appear twice or leave the repo).
    """
    base = Path(os.path.abspath(root))
    real_root = Path(os.path.realpath(root))
    starts = [_start(base, real_root, p) for p in paths] if paths else [(base, "", False)]
    seen: set[str] = set()
    listed: list[Candidate] = []
    for start, relative, is_file in starts:
        explicit = bool(paths)
        if is_file:
            found: Iterator[Candidate] = iter(
                [Candidate(str(start), relative, explicit, named=explicit)]
            )
        else:
            found = _walk(real_root, start, relative, explicit, skipped)
        for candidate in found:
            if candidate.relative not in seen:
                seen.add(candidate.relative)
                listed.append(candidate)
    yield from _once(listed, real_root, skipped)


def _once(
    listed: list[Candidate], real_root: Path, skipped: list[Skipped] | None
) -> Iterator[Candidate]:
    """The candidates, without a symlink the walk found whose target it reads anyway:
    one file is read, edited and reported once, under its own name."""
    if not any(c.linked for c in listed):
        yield from listed
        return
    real = {os.path.realpath(c.path): c.relative for c in listed if not c.linked}
    for candidate in listed:
        target = real.get(candidate.path) if candidate.linked else None
        if target is None:
            yield candidate
        else:
            _note(skipped, candidate.relative, f"symlink to {target}, read there")


def _relative(base: Path, real_root: Path, path: Path) -> str:
    """``path`` relative to the repo: as spelled when it is under ``--repo``, else
    through its resolved directory (an absolute --path with a relative --repo, or a
    --repo reached through a symlink)."""
    if path.is_relative_to(base):
        return path.relative_to(base).as_posix()
    real_parent = Path(os.path.realpath(path.parent))
    if real_parent.is_relative_to(real_root):
        return (real_parent / path.name).relative_to(real_root).as_posix()
    return path.as_posix()


def _start(base: Path, real_root: Path, given: str) -> tuple[Path, str, bool]:
    """(where to start, its path relative to the repo, is it one file) for a --path."""
    path = Path(os.path.normpath(base / given))  # base / an absolute path is that path
    if not path.is_relative_to(base) and not path.is_relative_to(real_root):
        # as spelled, outside --repo: the input is wrong (a path inside that resolves
        # outside, through a symlink of the repo's, is the repo's content: refused below)
        raise UsageError(f"--path {given}: leaves the repository")
    try:
        link = os.lstat(path)
    except OSError:
        raise UsageError(f"--path {given}: no such file or directory in {base}") from None
    target = _stat_target(path)
    if isinstance(target, str):
        raise UsageError(f"--path {given}: {target}")
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(real_root):
        raise EditError(f"--path {given}: leaves the repository")
    relative = _relative(base, real_root, path)
    relative = "" if relative == "." else relative
    if stat.S_ISDIR(target.st_mode):
        if stat.S_ISLNK(link.st_mode):
            path = real  # named on purpose: walk where it leads (inside the repo)
        return path, relative + "/" if relative else "", False
    if not stat.S_ISREG(target.st_mode):
        raise UsageError(f"--path {given}: not a regular file ({kind_of(target.st_mode)})")
    return real, relative, True


def _stat_target(path: str | Path) -> os.stat_result | str:
    """The stat of what ``path`` leads to, or why there is nothing to read there."""
    try:
        return os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symlink loop"
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"dangling symlink (to {_link_text(path)})"
        return f"cannot read: {error.strerror}"


def _link_text(path: str | Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        return "?"
    return target.encode("unicode_escape").decode("ascii") if not target.isprintable() else target


def _walk(
    real_root: Path, start: Path, prefix: str, explicit: bool, skipped: list[Skipped] | None
) -> Iterator[Candidate]:
    """os.scandir depth first, sorted: DirEntry answers "symlink? directory? file?" from
    the directory listing, where Path objects would stat every file again."""
    stack = [(str(start), prefix, explicit)]
    while stack:
        directory, relative, direct = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            _note(skipped, relative or "./", f"cannot list: {error.strerror}")
            continue
        if (
            relative == prefix
            and os.path.basename(directory) == "templates"
            and os.path.exists(os.path.join(os.path.dirname(directory), "Chart.yaml"))
        ):
            _note(skipped, relative, CHART_TEMPLATES)  # --path named a chart's templates/
            continue
        named_reason = SKIPPED_DIR_REASONS.get(os.path.basename(directory))
        if relative == prefix and relative and named_reason:
            _note(skipped, relative, named_reason)  # --path named .github/, node_modules/
            continue
        names = frozenset(e.name for e in entries)
        subdirectories = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                reason = dir_skip_reason(entry.name, names)
                if reason is None and os.path.lexists(os.path.join(entry.path, ".git")):
                    reason = NESTED_REPOSITORY
                if reason is None:
                    subdirectories.append((entry.path, f"{relative}{entry.name}/", False))
                elif reason:
                    _note(skipped, f"{relative}{entry.name}/", reason)
            elif is_candidate_name(entry.name):
                shown = f"{relative}{entry.name}"
                reason = file_skip_reason(shown)
                if reason is not None:
                    _note(skipped, shown, reason)
                elif entry.is_file(follow_symlinks=False):
                    yield Candidate(entry.path, shown, direct)
                elif entry.is_symlink():
                    found = _through_link(entry.path, shown, direct, real_root)
                    if isinstance(found, Candidate):
                        yield found
                    else:
                        _note(skipped, shown, found)
                else:
                    kind = kind_of(entry.stat(follow_symlinks=False).st_mode)
                    _note(skipped, shown, f"not a regular file ({kind})")
        stack.extend(reversed(subdirectories))


def _note(skipped: list[Skipped] | None, relative: str, reason: str) -> None:
    if skipped is not None:
        skipped.append(Skipped(relative, 0, "", reason))


def _through_link(path: str, shown: str, explicit: bool, real_root: Path) -> Candidate | str:
    """The candidate a file symlink leads to, or why there is none."""
    target = _stat_target(path)
    if isinstance(target, str):
        return target
    real = os.path.realpath(path)
    if not Path(real).is_relative_to(real_root):
        raise EditError(f"symlink leaves the repository ({_link_text(path)})", file=shown)
    if stat.S_ISDIR(target.st_mode):
        return "symlink to a directory, not followed"
    if not stat.S_ISREG(target.st_mode):
        return f"symlink to {kind_of(target.st_mode)}"
    return Candidate(real, shown, explicit, linked=True)


def load(candidate: Candidate, raw: bytes | None = None) -> Document:
    if raw is None:
        try:
            raw = candidate.read(max_file_size())
        except Unreadable as reason:
            raise EditError(str(reason), file=candidate.relative) from None
    data = raw
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
    lines: list[int] = []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if is_mapping(node):
            for key, value in node.value:
                if is_mapping(key):
                    lines.append(int(key.start_mark.line) + 1)
                stack.append(value)
        elif is_sequence(node):
            stack.extend(node.value)
    return min(lines, default=0)


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
    are split into contiguous runs, one per process (so the order stays the same).
    With ``skipped``, what was passed over (see :func:`candidates`, and files above the
    size limit) is listed with the reason."""
    limit = max_file_size()
    passed_over: list[Skipped] = []
    found = list(candidates(root, paths, passed_over if skipped else None))
    chunks = _chunks(found, workers if len(found) >= PARALLEL_MIN_FILES else 1)
    if len(chunks) == 1 or not _can_fork():
        result = scan_candidates(found, skipped, limit)
        result.skipped[:0] = passed_over
        return result
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(chunks) - 1, mp_context=context) as pool:
        futures = [pool.submit(scan_candidates, c, skipped, limit) for c in chunks[1:]]
        result = scan_candidates(chunks[0], skipped, limit)
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


def scan_candidates(
    found: Sequence[Candidate], skipped: bool = True, limit: int = DEFAULT_MAX_FILE_SIZE
) -> ScanResult:
    result = ScanResult()
    with gc_paused():
        for candidate in found:
            try:
                raw = candidate.read(limit)
            except Unreadable as reason:
                if skipped:
                    result.skipped.append(Skipped(candidate.relative, 0, "", str(reason)))
                continue
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
