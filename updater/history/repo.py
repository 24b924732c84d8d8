"""The git a history walk needs: one ``git log --raw`` over the candidate files, blob
contents in batches (``git cat-file --batch``), the files at HEAD that mention an image
(``git grep``), and deepening a shallow clone only as far as asked.

Every git process has the run's deadline and a redacted one-line error (``run_git``).
In a clone made by :func:`updater.git.clone` the clone's credentials go with each
process, so a blobless clone can fetch the blobs it lacks and a shallow one can deepen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from updater import git
from updater.errors import UsageError
from updater.remote import Redactor

# One record per commit: fields split by NUL (which no commit message can hold).
LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%cI%x00%aI%x00%B%x00"
_FIELDS = 7
NULL_OID = "0" * 40


@dataclass(frozen=True)
class FileChange:
    """One entry of ``--raw``: a file's blob before and after (``None``: absent)."""

    status: str  # A, M, D, R (renamed), C (copied), T (type changed)
    old_path: str | None
    new_path: str | None
    old_blob: str | None
    new_blob: str | None
    old_mode: str
    new_mode: str


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str  # committer date, ISO 8601
    author_date: str
    message: str
    files: tuple[FileChange, ...]


def parse_log(data: bytes) -> list[Commit]:
    """Commits of ``git log -z --raw --no-abbrev --format=LOG_FORMAT``, newest first."""
    tokens = data.decode("utf-8", "surrogateescape").split("\0")
    commits: list[Commit] = []
    i = 0
    while i + _FIELDS <= len(tokens):
        head = tokens[i : i + _FIELDS]
        if not head[0].strip():
            break
        i += _FIELDS
        if i < len(tokens) and tokens[i] == "":
            i += 1
        files: list[FileChange] = []
        while i < len(tokens) and tokens[i].lstrip("\n").startswith(":"):
            meta = tokens[i].lstrip("\n")[1:].split(" ")
            old_mode, new_mode, old_blob, new_blob, status = meta[:5]
            letter = status[:1]
            if letter in ("R", "C"):
                old_path, new_path = tokens[i + 1], tokens[i + 2]
                i += 3
            else:
                old_path = new_path = tokens[i + 1]
                i += 2
            files.append(
                FileChange(
                    status=letter,
                    old_path=None if letter == "A" else old_path,
                    new_path=None if letter == "D" else new_path,
                    old_blob=None if old_blob == NULL_OID else old_blob,
                    new_blob=None if new_blob == NULL_OID else new_blob,
                    old_mode=old_mode,
                    new_mode=new_mode,
                )
            )
        sha, parents, author, email, date, author_date, message = head
        commits.append(
            Commit(
                sha=sha.strip(),
                parents=tuple(parents.split()),
                author=author,
                email=email,
                date=date,
                author_date=author_date,
                message=message,
                files=tuple(files),
            )
        )
    return commits


@dataclass
class HistoryRepo:
    """A git work tree to read history from: a local checkout or an open clone."""

    root: Path
    env: dict[str, str]
    redact: Redactor
    remote: str | None  # where to deepen from (None: nowhere)
    _promisor: str | None = None  # a blobless clone's remote ("": not one; None: not asked)

    @classmethod
    def open(cls, root: Path) -> HistoryRepo:
        clone = git.checkout_at(root)
        if clone is not None:
            return cls(root, clone.env(), clone.redact, clone.remote)
        env = git.auth_environment("", None)
        repo = cls(root, env, Redactor(), None)
        status, _, _ = repo.run("rev-parse", "--git-dir", check=False)
        if status != 0:
            raise UsageError(f"--repo {root}: not a git repository (history reads its commits)")
        repo.remote = repo._default_remote()
        return repo

    def run(
        self, *args: str, check: bool = True, stdin: bytes | None = None
    ) -> tuple[int, str, str]:
        status, out, err = git.run_git_bytes(
            self.root, args, env=self.env, redact=self.redact, check=check, stdin=stdin
        )
        return status, out.decode("utf-8", "replace"), err

    def _default_remote(self) -> str | None:
        status, out, _ = self.run(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False
        )
        if status == 0 and "/" in out:
            return out.strip().partition("/")[0]
        status, out, _ = self.run("remote", check=False)
        names = out.split()
        return "origin" if "origin" in names else (names[0] if names else None)

    # -- reading

    def head(self) -> str | None:
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return out.strip() if status == 0 else None

    def log(
        self, revs: Sequence[str], pathspec: Sequence[str] | None, *, since: str | None = None
    ) -> list[Commit]:
        """Every commit reachable from ``revs`` that changed a file under ``pathspec``
        (everything when None), newest first, with each changed file's blobs."""
        args = ["log", "-z", "--raw", "--no-abbrev", "-M", "--relative", f"--format={LOG_FORMAT}"]
        if since is not None:
            args.append(f"--since={since}")
        args += [*revs, "--", *(f":(literal){p}" for p in pathspec or ())]
        _, out, _ = git.run_git_bytes(self.root, args, env=self.env, redact=self.redact)
        return parse_log(out)

    def renames_into(self, sha: str) -> dict[str, tuple[str, str, str]]:
        """new path -> (old path, old blob, old mode) of the files ``sha`` renamed (against its
        first parent, the whole tree: a path-limited log sees a rename as an addition)."""
        status, out, _ = git.run_git_bytes(
            self.root,
            ["diff-tree", "-z", "-r", "-M", "--raw", "--no-abbrev", "--relative", sha],
            env=self.env,
            redact=self.redact,
            check=False,
        )
        if status != 0:
            return {}
        tokens = out.decode("utf-8", "surrogateescape").split("\0")
        found: dict[str, tuple[str, str, str]] = {}
        i = 1 if tokens and not tokens[0].startswith(":") else 0
        while i < len(tokens) and tokens[i].startswith(":"):
            meta = tokens[i][1:].split(" ")
            letter = meta[4][:1]
            if letter in ("R", "C"):
                if letter == "R":
                    found[tokens[i + 2]] = (tokens[i + 1], meta[2], meta[0])
                i += 3
            else:
                i += 2
        return found

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The contents of ``oids`` (one ``cat-file --batch``); missing ones left out."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        self._prefetch(wanted)
        _, out, _ = git.run_git_bytes(
            self.root,
            ["cat-file", "--batch"],
            env=self.env,
            redact=self.redact,
            stdin="".join(f"{oid}\n" for oid in wanted).encode("ascii"),
        )
        found: dict[str, bytes] = {}
        at = 0
        for oid in wanted:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            at = end + 1
            if len(header) != 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            found[oid] = out[at : at + size]
            at += size + 1
        return found

    def _prefetch(self, oids: list[str]) -> None:
        """In a blobless clone, fetch the blobs in one request, as git's own lazy fetch
        does for one blob at a time (a round trip each): those already here come again,
        which costs less than asking which are missing (that question fetches too)."""
        if self._promisor is None:
            status, out, _ = self.run("config", "--get", "extensions.partialClone", check=False)
            self._promisor = out.strip() if status == 0 else ""
        if not self._promisor:
            return
        self.run(
            "-c", "fetch.negotiationAlgorithm=noop", "-c", "gc.auto=0",
            "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
            "--recurse-submodules=no", "--filter=blob:none", "--stdin", self._promisor,
            check=False,
            stdin="".join(f"{oid}\n" for oid in oids).encode("ascii"),
        )  # fmt: skip

    def files_mentioning(self, needle: str, pathspec: Sequence[str]) -> list[str]:
        """Files of HEAD whose text holds ``needle`` (fixed string), under ``pathspec``."""
        status, out, _ = self.run(
            "-c",
            "core.quotePath=false",
            "grep",
            "-l",
            "-z",
            "-F",
            "-I",
            "-e",
            needle,
            "HEAD",
            "--",
            *[f":(literal){p}" for p in pathspec],
            check=False,
        )
        if status not in (0, 1):
            return []
        return [entry.partition(":")[2] for entry in out.split("\0") if entry]

    def landed(self, sha: str) -> tuple[str, str] | None:
        """(commit, committer date) of the merge that brought ``sha`` onto HEAD's
        first-parent line; None when ``sha`` is on that line itself (or is HEAD)."""
        status, out, _ = self.run(
            "log", "--first-parent", "--ancestry-path", "--format=%H %P%x00%cI",
            f"{sha}..HEAD", check=False,
        )  # fmt: skip
        lines = out.strip().splitlines()
        if status != 0 or not lines:
            return None
        head, _, date = lines[-1].partition("\0")
        commit, *parents = head.split()
        return None if parents[:1] == [sha] else (commit, date)

    # -- shallow clones

    def shallow_boundary(self) -> frozenset[str]:
        """The commits whose parents this clone lacks (empty: not shallow)."""
        _, out, _ = self.run("rev-parse", "--git-path", "shallow")
        path = Path(out.strip())
        path = path if path.is_absolute() else self.root / path
        try:
            return frozenset(path.read_text(encoding="ascii").split())
        except OSError:
            return frozenset()

    def commit_time(self, sha: str) -> int:
        _, out, _ = self.run("show", "-s", "--format=%ct", sha)
        return int(out.strip() or 0)

    def deepen(self, *, by: int | None = None, since: str | None = None) -> bool:
        """Fetch more history into a shallow clone: ``by`` more commits, everything since
        ``since``, or (neither) all of it. False when there is no remote to ask."""
        if self.remote is None:
            return False
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if by is not None:
            args.append(f"--deepen={by}")
        elif since is not None:
            args.append(f"--shallow-since={since}")
        else:
            args.append("--unshallow")
        args.append(self.remote)
        self.run(*args)
        return True
