"""Container image references: parse, validate, normalise and format.

The grammar is the one of the CNCF distribution project (``reference/regexp.go``), which
is what Docker, containerd, kustomize and every registry agree on. This module is the
shared vocabulary of the package: it imports nothing from it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
TAG_PATTERN = r"[\w][\w.-]{0,127}"
DIGEST_PATTERN = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(rf"^{TAG_PATTERN}$")
_DIGEST_RE = re.compile(rf"^{DIGEST_PATTERN}$")
_KNOWN_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
NAME_TOTAL_LENGTH_MAX = 255


class InvalidReference(ValueError):
    """A string that is not a valid image reference; the message names the value."""


@dataclass(frozen=True)
class ImageRef:
    """One image reference, keeping the spelling it was written with."""

    name: str  # as written: "nginx", "ghcr.io/acme/app", "localhost:5000/app"
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The normalised repository: ``nginx`` -> ``docker.io/library/nginx``."""
        return normalise_name(self.name)

    @property
    def domain(self) -> str:
        return split_domain(self.name)[0]

    @property
    def path(self) -> str:
        return split_domain(self.name)[1]

    def __str__(self) -> str:
        return format_reference(self.name, self.tag, self.digest)


def split_domain(name: str) -> tuple[str, str]:
    """Split a name into (normalised domain, path) the way Docker does.

    The first component is a registry host when it contains ``.`` or ``:``, is
    ``localhost``, or has an uppercase letter (which no path component may have). The
    host is lower-cased: ``GHCR.io/acme/api`` is ``ghcr.io/acme/api``.
    """
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        domain, path = first.lower(), rest  # host names are not case sensitive (RFC 4343)
    else:
        domain, path = DOCKER_HUB, name
    if domain in _HUB_ALIASES:
        domain = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return domain, path


@functools.lru_cache(maxsize=16384)
def normalise_name(name: str) -> str:
    domain, path = split_domain(name)
    return f"{domain}/{path}"


def familiar_name(repository: str) -> str:
    """The short spelling Docker prints: ``docker.io/library/nginx`` -> ``nginx``."""
    domain, path = split_domain(repository)
    if domain != DOCKER_HUB:
        return f"{domain}/{path}"
    return path.removeprefix("library/") if path.count("/") == 1 else path


def format_reference(name: str, tag: str | None, digest: str | None) -> str:
    text = name
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    return text


def split_reference(text: str) -> ImageRef:
    """Split without validating: for values read from files, which may be odd but real."""
    name, _, digest = text.partition("@")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageRef(name=name, tag=tag if tag else None, digest=digest or None)


def validate_name(name: str, *, original: str | None = None) -> None:
    shown = original if original is not None else name
    if not name:
        raise InvalidReference(f"invalid image reference {shown!r}: empty name")
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid image reference {shown!r}: name longer than {NAME_TOTAL_LENGTH_MAX}"
        )
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        validate_domain(first, original=shown)
        path = rest
    else:
        path = name
    validate_path(path, original=shown)


def validate_domain(domain: str, *, original: str) -> None:
    """A registry host with an optional port, as the first component of a name."""
    if not _DOMAIN_RE.match(domain):
        raise InvalidReference(
            f"invalid image reference {original!r}: bad registry host {domain!r}"
        )


def validate_path(path: str, *, original: str) -> None:
    """A repository path inside a registry (``acme/api``), without the host."""
    if not _PATH_RE.match(path):
        reason = "repository must be lowercase" if path.lower() != path else "bad repository"
        raise InvalidReference(f"invalid image reference {original!r}: {reason} {path!r}")


def normalise_domain(domain: str) -> str:
    """Docker Hub's other host names are Docker Hub: ``index.docker.io`` -> ``docker.io``."""
    return DOCKER_HUB if domain in _HUB_ALIASES else domain


def validate_tag(tag: str, *, original: str) -> None:
    if len(tag) > 128:
        raise InvalidReference(f"invalid image reference {original!r}: tag longer than 128")
    if not _TAG_RE.match(tag):
        raise InvalidReference(f"invalid image reference {original!r}: bad tag {tag!r}")


def validate_digest(digest: str, *, original: str) -> None:
    if not _DIGEST_RE.match(digest):
        raise InvalidReference(f"invalid image reference {original!r}: bad digest {digest!r}")
    algorithm, _, hexpart = digest.partition(":")
    expected = _KNOWN_DIGEST_LENGTHS.get(algorithm)
    if expected is not None and len(hexpart) != expected:
        raise InvalidReference(
            f"invalid image reference {original!r}: "
            f"{algorithm} digest must have {expected} hex digits"
        )


def parse(text: str) -> ImageRef:
    """Parse and validate a reference given by a user; raise InvalidReference."""
    if text != text.strip() or any(ch.isspace() for ch in text):
        raise InvalidReference(f"invalid image reference {text!r}: contains white space")
    if not text:
        raise InvalidReference("invalid image reference '': empty")
    ref = split_reference(text)
    if text.count("@") > 1:
        raise InvalidReference(f"invalid image reference {text!r}: more than one '@'")
    validate_name(ref.name, original=text)
    if ref.tag is not None:
        validate_tag(ref.tag, original=text)
    elif ":" in text.partition("@")[0].rpartition("/")[2]:
        raise InvalidReference(f"invalid image reference {text!r}: empty tag")
    if ref.digest is not None:
        validate_digest(ref.digest, original=text)
    elif text.endswith("@"):
        raise InvalidReference(f"invalid image reference {text!r}: empty digest")
    return ref


KEEP = "*"  # ``kustomize edit set image``: keep the part the file has


@dataclass(frozen=True)
class Change:
    """What a run wants: every reference to ``repository`` gets ``tag``/``digest``.

    ``new_name`` is set for renames (``OLD=NEW:TAG``, as ``kustomize edit set image``).
    ``aliases`` are setter-marker policy names (``ns:name``) that also mean this image.
    ``by_name``: the ``OLD=...`` form, where a kustomization entry answers to its ``name``
    only (an entry renaming ``foo`` to OLD keeps deploying what it deployed).
    ``keep_tag``/``keep_digest``/``keep_name``: the ``*`` parts of that grammar.
    ``only_marked``: touch only fields marked for one of ``aliases`` (Flux's rule).
    ``paths``: the files and directories the change may touch (none: whatever the plan
    searches), so that one plan serves changes restricted to different paths.
    """

    repository: str
    spelled: str
    tag: str | None = None
    digest: str | None = None
    new_name: str | None = None
    aliases: tuple[str, ...] = ()
    by_name: bool = False
    keep_tag: bool = False
    keep_digest: bool = False
    keep_name: bool = False
    only_marked: bool = False
    paths: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.by_name:
            name = self.new_name or (KEEP if self.keep_name else self.spelled)
            tag = KEEP if self.keep_tag else self.tag
            digest = KEEP if self.keep_digest else self.digest
            return f"{self.spelled}={format_reference(name, tag, digest)}"
        tag = KEEP if self.keep_tag else self.tag
        digest = KEEP if self.keep_digest else self.digest
        return format_reference(self.spelled, tag, digest)

    @property
    def target(self) -> str:
        """The new reference as it would be written in full (no ``*`` parts)."""
        return format_reference(self.new_name or self.spelled, self.tag, self.digest)

    @property
    def drops_tag(self) -> bool:
        """``NAME@DIGEST``: a kustomization entry's ``newTag`` goes, as kustomize does."""
        return self.digest is not None and self.tag is None and not self.keep_tag


def _split_target(text: str, whole: str) -> tuple[str, str | None, str | None]:
    """NAME[:TAG][@DIGEST] where any part may be ``*``; validated, ``*`` kept as is."""
    if text.count("@") > 1:
        raise InvalidReference(f"invalid image change {whole!r}: more than one '@'")
    rest, at, digest = text.partition("@")
    tag: str | None = None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not tag:
            raise InvalidReference(f"invalid image change {whole!r}: empty tag")
    if at and not digest:
        raise InvalidReference(f"invalid image change {whole!r}: empty digest")
    if any(ch.isspace() for ch in text) or not rest:
        raise InvalidReference(f"invalid image change {whole!r}: expected NAME[:TAG][@DIGEST]")
    if rest != KEEP:
        validate_name(rest, original=whole)
    if tag is not None and tag != KEEP:
        validate_tag(tag, original=whole)
    if at and digest != KEEP:
        validate_digest(digest, original=whole)
    return rest, tag, (digest if at else None)


def parse_change(text: str, *, aliases: tuple[str, ...] = (), only_marked: bool = False) -> Change:
    """Parse a ``set-image`` argument.

    Accepts every form of ``kustomize edit set image``: ``NAME:TAG``, ``NAME@DIGEST``,
    ``NAME:TAG@DIGEST``, ``OLD=NEW``, ``OLD=NEW:TAG``, ``OLD=NEW@DIGEST``, and ``*`` for
    any part after ``=`` (``OLD=*:TAG``, ``OLD=NEW:*``, ``OLD=*@DIGEST``, ``OLD=NEW@*``),
    meaning "keep what the file has".
    """
    old, sep, new = text.partition("=")
    if sep:
        if not old or not new:
            raise InvalidReference(
                f"invalid image change {text!r}: expected OLD=NEW[:TAG][@DIGEST]"
            )
        old_ref = parse(old)
        if old_ref.tag or old_ref.digest:
            raise InvalidReference(
                f"invalid image change {text!r}: the name before '=' takes no tag or digest"
            )
        name, tag, digest = _split_target(new, text)
        keep_name = name == KEEP
        new_name = None
        if not keep_name and normalise_name(name) != old_ref.repository:
            new_name = name
        if new_name is None and not keep_name and tag is None and digest is None:
            raise InvalidReference(f"invalid image change {text!r}: it changes nothing")
        return Change(
            repository=old_ref.repository,
            spelled=old_ref.name,
            tag=None if tag == KEEP else tag,
            digest=None if digest == KEEP else digest,
            new_name=new_name,
            aliases=aliases,
            by_name=True,
            keep_tag=tag == KEEP,
            keep_digest=digest == KEEP,
            keep_name=keep_name,
            only_marked=only_marked,
        )
    if KEEP in text:
        name, tag, digest = _split_target(text, text)
        if name == KEEP:
            raise InvalidReference(f"invalid image change {text!r}: '*' needs OLD=*")
        ref = ImageRef(name=name, tag=tag, digest=digest)
    else:
        ref = parse(text)
    if ref.tag is None and ref.digest is None:
        raise InvalidReference(
            f"invalid image change {text!r}: give a tag or digest (NAME:TAG or NAME@DIGEST)"
        )
    return Change(
        repository=ref.repository,
        spelled=ref.name,
        tag=None if ref.tag == KEEP else ref.tag,
        digest=None if ref.digest == KEEP else ref.digest,
        aliases=aliases,
        keep_tag=ref.tag == KEEP,
        keep_digest=ref.digest == KEEP,
        only_marked=only_marked,
    )
