"""git work for delivery, through the git command line: cheap clones, commits, pushes that
detect races.

Credentials never touch disk and never leave their host. An HTTPS credential reaches git
through a credential helper given in the environment of each git network process
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, git >= 2.31) that
answers only for the one origin (scheme, host, port) the credential belongs to. Git asks
its helper again for every host it is sent to, so after a redirect to another host it
gets nothing: unlike an ``http.extraHeader``, which git keeps sending to the redirect's
target. The secret is never written to ``.git/config``, never part of a remote URL and
never on a command line, and every message this module raises goes through
:class:`Redactor` first.

Every git process has a deadline: a stalled transfer ends by ``http.lowSpeedLimit`` /
``http.lowSpeedTime``, and each process is killed (with its children) when its own
timeout, cut to what is left of the run's deadline, passes.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from updater import deadline
from updater.errors import DeliveryError, UsageError
from updater.remote import HttpAuth, Redactor, is_http_url, is_remote_url, origin, redact_url

BOT_NAME = "gitops-updater"
BOT_EMAIL = "gitops-updater@users.noreply.github.com"


class GitError(DeliveryError):
    """A git command failed; the message is redacted and one line."""


# A git process may take this long at most (cut to the run's deadline): in a blobless
# clone even checkout and reset fetch. A transfer slower than LOW_SPEED bytes/s for
# LOW_SPEED_TIME seconds is abandoned by git itself.
GIT_SECONDS = 600.0
LOW_SPEED = 1000
LOW_SPEED_TIME = 60

# Answers ``get`` only for the origin in UPDATER_GIT_PROTOCOL + UPDATER_GIT_HOSTS (the
# host with and without its default port, as git may spell it), from the environment:
# the secret is in no file and no argv. ``store``/``erase`` are ignored.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; p=; h=;'
    " while IFS= read -r l; do case $l in protocol=*) p=${l#protocol=};;"
    " host=*) h=${l#host=};; esac; done;"
    ' test "$p" = "$UPDATER_GIT_PROTOCOL" || exit 0;'
    ' for ok in $UPDATER_GIT_HOSTS; do if test "$h" = "$ok"; then'
    " printf 'username=%s\\npassword=%s\\n'"
    ' "$UPDATER_GIT_USERNAME" "$UPDATER_GIT_PASSWORD"; exit 0; fi; done; }; f'
)


# Where a repository is, as git's environment says (``git rev-parse --local-env-vars``
# without the config ones): git sets them for its hooks and a CI job may export them, but
# the bot names its repository by ``cwd``, so an inherited one would make it read, commit
# to or clone over another repository.
REPOSITORY_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_DIR", "GIT_GRAFT_FILE",
    "GIT_IMPLICIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_NO_REPLACE_OBJECTS", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX", "GIT_REPLACE_REF_BASE",
    "GIT_SHALLOW_FILE", "GIT_WORK_TREE", "GIT_NAMESPACE",
)  # fmt: skip


def process_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of one git process: ours, without inherited repository
    variables, plus ``env``."""
    inherited = {k: v for k, v in os.environ.items() if k not in REPOSITORY_VARIABLES}
    return {**inherited, **env}


def auth_environment(url: str, auth: HttpAuth | None) -> dict[str, str]:
    """Environment for one git process: no prompts, bounded transfers, redirects only on
    the first request, and a credential helper bound to ``auth``'s origin if any."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_ASKPASS": "true"}
    settings = [
        ("http.lowSpeedLimit", str(LOW_SPEED)),
        ("http.lowSpeedTime", str(LOW_SPEED_TIME)),
        ("http.followRedirects", "initial"),
        # No hook of the user's (a global core.hooksPath, a checkout's .git/hooks) runs
        # in the bot's clones and commits: one that fails (post-checkout, pre-push,
        # reference-transaction) would fail the run, and --no-verify skips only two.
        ("core.hooksPath", os.devnull),
    ]
    if auth is not None and auth.origin and url.startswith(("http://", "https://")):
        scheme, _, hostport = auth.origin.partition("://")
        host, _, port = hostport.rpartition(":")
        default = {"http": "80", "https": "443"}[scheme] == port
        env.update(
            {
                "UPDATER_GIT_PROTOCOL": scheme,
                "UPDATER_GIT_HOSTS": f"{host} {hostport}" if default else hostport,
                "UPDATER_GIT_USERNAME": auth.username,
                "UPDATER_GIT_PASSWORD": auth.token,
            }
        )
        # An empty value first: the user's own helpers (a credential store, a keychain)
        # are neither asked nor told about this credential.
        settings += [("credential.helper", ""), ("credential.helper", _CREDENTIAL_HELPER)]
    try:
        count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for index, (key, value) in enumerate(settings, start=count):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(settings))
    return env


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        match = re.fullmatch(r"\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]*)>\s*", text)
        if not match or not match["name"]:
            raise UsageError(f"identity {text!r}: expected 'Name <email>'")
        return cls(match["name"], match["email"])

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


BOT_IDENTITY = Identity(BOT_NAME, BOT_EMAIL)


# --------------------------------------------------------------------------- pushes


@dataclass(frozen=True)
class PushResult:
    ok: bool
    retryable: bool  # the branch moved under us: fetch, re-plan, retry
    reason: str  # git's short reason, e.g. "fetch first", "pre-receive hook declined"
    remote_says: str = ""  # the first line a server-side hook printed, if any

    @property
    def message(self) -> str:
        return f"{self.reason} (remote: {self.remote_says})" if self.remote_says else self.reason


_RACE_REASONS = (
    "fetch first",
    "non-fast-forward",
    "stale info",
    "failed to update ref",
    "cannot lock ref",
    "incorrect old value",
    "failed to lock",
    "reference already exists",
)


def _parse_push(status: int, stdout: str, stderr: str, ref: str) -> PushResult:
    """Read ``git push --porcelain`` output for one ref."""
    result = _parse_push_status(status, stdout, stderr, ref)
    if result.ok:
        return result
    said = [
        ln.strip()[len("remote:") :].strip()
        for ln in stderr.splitlines()
        if ln.strip().startswith("remote:") and ln.strip()[len("remote:") :].strip()
    ]
    return PushResult(result.ok, result.retryable, result.reason, said[0][:200] if said else "")


def _parse_push_status(status: int, stdout: str, stderr: str, ref: str) -> PushResult:
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or not fields[1].endswith(ref):
            continue
        flag, summary = fields[0], fields[2]
        if flag in (" ", "+", "-", "*", "="):
            return PushResult(True, False, summary)
        reason = summary
        match = re.search(r"\((?P<reason>[^)]*)\)", summary)
        if match:
            reason = match["reason"]
        retry = any(key in summary for key in _RACE_REASONS)
        return PushResult(False, retry, reason)
    if status == 0:
        return PushResult(True, False, "pushed")
    lowered = stderr.lower()
    retry = any(key in lowered for key in _RACE_REASONS)
    return PushResult(False, retry, failure_reason(stderr) or "push failed")


# What git says after the real reason, whatever it was.
_FOLLOW_UPS = ("fatal: could not read from remote repository", "error: failed to push some refs")


def failure_reason(text: str) -> str:
    """The line of git's stderr that says what went wrong: its first ``fatal:`` /
    ``error:`` line that is not one of git's follow-ups (``Could not read from remote
    repository.`` comes after every reason), else the line before that follow-up
    (ssh's own reason: ``ssh: connect to host ...``, ``Permission denied (publickey).``),
    else the last such line, else the last."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    meaningful = [
        ln for ln in lines if ln.lower().startswith(("fatal:", "error:", "remote: error"))
    ]
    specific = [ln for ln in meaningful if not ln.lower().startswith(_FOLLOW_UPS)]
    if specific:
        return specific[0]
    follow_up = next((n for n, ln in enumerate(lines) if ln.lower().startswith(_FOLLOW_UPS[0])), 0)
    if follow_up:  # the transport (ssh) said why, on a line of its own
        return lines[follow_up - 1]
    return (meaningful or lines or [""])[-1]


# --------------------------------------------------------------------------- checkouts


@dataclass
class Checkout:
    """A working tree we commit in, with ``origin`` pointing at the delivery remote."""

    path: Path
    url: str  # the remote, without credentials
    auth: HttpAuth | None = None
    redact: Redactor = field(default_factory=Redactor)
    remote: str = "origin"
    workdir: Path | None = None  # a temporary directory removed on close()

    # -- plumbing

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = auth_environment(self.url, self.auth)
        if extra:
            env.update(extra)
        return env

    def run(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> tuple[int, str, str]:
        """Run one git command in the checkout; returns (status, stdout, stderr)."""
        # Any command may fetch in a blobless clone (checkout, reset): all get the auth.
        return run_git(self.path, args, env=self.env(env), redact=self.redact, check=check)

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return self.run(*args, env=env)[1]

    def close(self) -> None:
        _OPEN.pop(str(self.path), None)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Checkout:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def current_branch(self) -> str | None:
        status, out, _ = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return out.strip() if status == 0 else None

    def tree_and_parents(self, rev: str) -> tuple[str, tuple[str, ...]]:
        """Read from the commit object itself: in a shallow clone ``%P`` of a boundary
        commit is empty, the object still names its parents."""
        tree, parents = "", []
        for line in self.git("cat-file", "commit", rev).splitlines():
            if not line:
                break
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
        return tree, tuple(parents)

    def remote_branches(self, *branches: str) -> dict[str, str]:
        """Tips of the given branches on the remote (missing ones absent)."""
        refs = [f"refs/heads/{b}" for b in branches]
        out = self.git("ls-remote", self.remote, *refs)
        tips = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            tips[ref.removeprefix("refs/heads/")] = sha
        return tips

    def committer_email(self, rev: str) -> str:
        for line in self.git("cat-file", "commit", rev).splitlines():
            if not line:
                break
            if line.startswith("committer "):
                match = re.search(r"<([^<>]*)>", line)
                return match[1] if match else ""
        return ""

    def dirty(self, paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *paths)
        return [entry[3:] for entry in out.split("\0") if entry]

    # -- changes

    def fetch(self, branch: str, *, depth: int | None = 1) -> str:
        """Fetch ``branch`` from the remote; return its tip (missing -> GitError)."""
        args = ["fetch", "--quiet", "--no-tags"]
        if depth is not None and self.is_shallow():
            args.append(f"--depth={depth}")
        args += [self.remote, f"+refs/heads/{branch}:refs/remotes/{self.remote}/{branch}"]
        self.git(*args)
        return self.git("rev-parse", f"refs/remotes/{self.remote}/{branch}").strip()

    def is_shallow(self) -> bool:
        return (Path(self.git("rev-parse", "--git-dir").strip()) / "shallow").exists() or (
            self.path / ".git" / "shallow"
        ).exists()

    def reset_hard(self, rev: str) -> None:
        self.git("reset", "--quiet", "--hard", rev)

    def commit(
        self,
        files: Sequence[str],
        message: str,
        *,
        author: Identity = BOT_IDENTITY,
        committer: Identity = BOT_IDENTITY,
        signoff: bool = False,
    ) -> str:
        """Commit exactly ``files`` (other staged changes stay staged); signing follows
        git's own config (``commit.gpgsign``, ``gpg.format``)."""
        args = ["commit", "--quiet", "--no-verify", "-F", "-", "--only"]
        if signoff:
            args.append("--signoff")
        args += ["--", *files]
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        run_git(
            self.path, args, env=self.env(identity), redact=self.redact, check=True, stdin=message
        )
        return self.head()

    def push(self, source: str, branch: str, *, lease: str | None = None) -> PushResult:
        """Push ``source`` to ``refs/heads/branch``. With ``lease`` (the sha we last saw,
        or "" for "must not exist") it is a ``--force-with-lease`` push: only ever used
        for the bot's own branch."""
        ref = f"refs/heads/{branch}"
        args = ["push", "--porcelain", "--no-verify"]
        if lease is not None:
            args.append(f"--force-with-lease={ref}:{lease}")
        args += [self.remote, f"{source}:{ref}"]
        status, out, err = self.run(*args, check=False)
        return _parse_push(status, out, err, ref)

    def delete_remote_branch(self, branch: str, *, lease: str) -> PushResult:
        ref = f"refs/heads/{branch}"
        status, out, err = self.run(
            "push",
            "--porcelain",
            "--no-verify",
            f"--force-with-lease={ref}:{lease}",
            self.remote,
            f":{ref}",
            check=False,
        )
        return _parse_push(status, out, err, ref)


def run_git(
    cwd: Path | None,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    redact: Redactor,
    check: bool = True,
    stdin: str | None = None,
) -> tuple[int, str, str]:
    """Run one git process under a deadline, with a redacted one-line error."""
    status, out, err = run_git_bytes(
        cwd,
        args,
        env=env,
        redact=redact,
        check=check,
        stdin=stdin.encode("utf-8") if stdin is not None else None,
    )
    return status, out.decode("utf-8", "replace"), err


def run_git_bytes(
    cwd: Path | None,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    redact: Redactor,
    check: bool = True,
    stdin: bytes | None = None,
) -> tuple[int, bytes, str]:
    """:func:`run_git` with stdin and stdout as bytes (blob contents are not text).

    git runs in its own process group so that a timeout or an interrupt ends it and the
    helpers it started (``git-remote-https``, ``ssh``) together.
    """
    limit = deadline.cap(GIT_SECONDS, f"git {args[0]}")
    try:
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=process_environment(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:  # pragma: no cover - git is a dependency
        raise GitError("git is not installed or not on PATH") from None
    try:
        raw_out, raw_err = process.communicate(stdin, timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(process)
        what = "the run's deadline" if deadline.left() == 0 else f"{limit:g} s"
        raise GitError(
            redact(f"git {args[0]} got no answer in time: stopped after {what}")
        ) from None
    except BaseException:
        _kill(process)
        raise
    status = process.returncode
    err = raw_err.decode("utf-8", "replace")
    if check and status != 0:
        reason = failure_reason(err) or f"exit status {status}"
        raise GitError(redact(f"git {args[0]} failed: {reason}"))
    return status, raw_out, err


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def clone(
    url: str,
    *,
    branch: str | None,
    paths: Sequence[str] = (),
    auth: HttpAuth | None = None,
    redact: Redactor | None = None,
) -> Checkout:
    """Clone ``url`` into a temporary directory: shallow, blobless, and sparse on ``paths``.

    Only the trees of one commit and the blobs under ``paths`` are downloaded, so a repo
    with a long history and tens of thousands of files costs about one small fetch.
    """
    redact = redact or Redactor()
    workdir = Path(tempfile.mkdtemp(prefix="updater-"))
    dest = workdir / "repo"
    checkout = Checkout(dest, url, auth, redact)
    try:
        args = ["clone", "--quiet", "--depth=1", "--filter=blob:none", "--no-checkout"]
        if branch:
            args.append(f"--branch={branch}")
        args += ["--", url, str(dest)]
        status, _, err = run_git(
            None, args, env=auth_environment(url, auth), redact=redact, check=False
        )
        if status != 0:
            bound = auth.origin if auth is not None and is_http_url(url) else ""
            reason = _clone_reason(err, branch, bound=bound)
            raise GitError(redact(f"cannot clone {redact_url(url)}: {reason}"))
        if paths:
            patterns = _with_link_targets(checkout, [p.strip("/") for p in paths])
            kinds = checkout.git("ls-tree", "HEAD", "--", *patterns).splitlines()
            trees = {ln.split("\t", 1)[1] for ln in kinds if ln.split()[1] == "tree"}
            if all(p in trees for p in patterns):
                checkout.git("sparse-checkout", "set", "--cone", "--sparse-index", "--", *patterns)
            else:
                checkout.git(
                    "sparse-checkout", "set", "--no-cone", "--", *[f"/{p}" for p in patterns]
                )
        checkout.git("checkout", "--quiet")
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    checkout.workdir = workdir
    _OPEN[str(dest)] = checkout
    return checkout


# The clones open now, by path: a planner is handed a directory, and reading history
# there (deepening a shallow clone) needs the clone's credentials.
_OPEN: dict[str, Checkout] = {}


def checkout_at(path: Path) -> Checkout | None:
    """The open clone at ``path`` (made by :func:`clone`), if it is one."""
    return _OPEN.get(str(path))


def _with_link_targets(checkout: Checkout, patterns: list[str]) -> list[str]:
    """Sparse paths plus the in-repo targets of the symlinks under them (a symlinked
    kustomization.yaml in an overlay), so a sparse clone reads what a full one does."""
    wanted = list(patterns)
    todo = list(patterns)
    for _ in range(8):  # links to links, bounded
        if not todo:
            break
        listing = checkout.git("ls-tree", "-r", "-z", "HEAD", "--", *todo)
        todo = []
        for entry in listing.split("\0"):
            if not entry.startswith("120000 "):
                continue
            meta, path = entry.split("\t", 1)
            target = checkout.git("cat-file", "blob", meta.split()[2])
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                continue  # leaves the repo: the file walker refuses it
            if not any(joined == w or joined.startswith(w + "/") for w in wanted):
                wanted.append(joined)
                todo.append(joined)
    return wanted


def _clone_reason(stderr: str, branch: str | None, *, bound: str) -> str:
    """Why a clone failed; ``bound``: the origin a credential was bound to, if any, so a
    refusal there is of that credential, not of a missing one."""
    text = stderr.lower()
    if branch and ("remote branch" in text and "not found" in text):
        return f"branch {branch!r} not found on the remote"
    if "authentication failed" in text or "could not read username" in text or " 401" in text:
        asked = re.search(r" for '(?P<url>[^']+)'", stderr)  # the URL git authenticated to
        if bound and (asked is None or origin(asked["url"]) == bound):
            return (
                "authentication failed: the credentials sent to this host were rejected"
                " (check the token, its user name and its access to the repository)"
            )
        if bound:  # git was sent elsewhere: the helper answers only for the bound origin
            return (
                "authentication failed: git asked for the credentials of another host (a"
                " redirect, or a url.<base>.insteadOf in your git config); none were sent"
            )
        return (
            "authentication failed (a forge token goes only to its forge's host: set"
            " GITHUB_TOKEN/GITLAB_TOKEN, or name this host with --token-env VAR and --forge)"
        )
    if " 403" in text:
        return "access denied (403)"
    return failure_reason(stderr) or "git clone failed"


def open_local(path: Path, redact: Redactor | None = None) -> Checkout:
    """A local checkout (its own remote is whatever the caller decides)."""
    redact = redact or Redactor()
    status, out, _ = run_git(
        path,
        ["rev-parse", "--show-toplevel"],
        env=auth_environment("", None),
        redact=redact,
        check=False,
    )
    if status != 0:
        raise UsageError(f"--repo {path}: not a git repository (needed for --commit/--push)")
    top = Path(out.strip())
    return Checkout(top, str(top), None, redact)


def remote_url(checkout: Checkout, remote: str) -> str:
    """The fetch URL of ``remote`` in a local checkout, resolved to an absolute form."""
    status, out, _ = checkout.run("remote", "get-url", remote, check=False)
    if status != 0:
        raise UsageError(f"--repo {checkout.path}: has no remote {remote!r} to push to")
    url = out.strip()
    if not is_remote_url(url):
        candidate = (checkout.path / url).resolve() if not os.path.isabs(url) else Path(url)
        url = str(candidate)
    return url


def upstream_of(checkout: Checkout) -> tuple[str, str] | None:
    """(remote, branch) the current branch tracks, if any."""
    status, out, _ = checkout.run(
        "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False
    )
    if status != 0 or "/" not in out:
        return None
    remote, _, branch = out.strip().partition("/")
    return remote, branch
