"""A found image reference (a ``Site``) and how a ``Change`` applies to it.

A site is made of one or more scalar fields with roles: ``ref`` (a whole reference in
one string), ``name``, ``registry`` + ``repository``, ``tag``, ``digest`` (or ``sha``,
hex only). Every file kind reduces to sites, so the rules below are written once.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ruamel.yaml.nodes import MappingNode, ScalarNode

from updater.edit.document import text_of
from updater.edit.model import Reference, Skipped
from updater.errors import EditError
from updater.reference import (
    Change,
    ImageRef,
    InvalidReference,
    format_reference,
    normalise_name,
    split_domain,
    split_reference,
    validate_name,
)

ResolveDigest = Callable[[str, str], str]
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Field:
    node: ScalarNode
    path: str  # YAML path, e.g. "images[0].newTag"
    prefix: str = ""  # text kept before the reference ("alias=" in Argo CD image lists)


@dataclass(frozen=True)
class Site:
    file: str
    kind: str  # kustomize | helm | manifest | argocd | compose | marker
    path: str
    line: int
    ref: ImageRef  # the effective reference, spelled as the file spells it
    repositories: frozenset[str]  # normalised names this site answers to
    fields: dict[str, Field]
    mapping: MappingNode | None = None  # block mapping that missing keys may be added to
    insert_keys: dict[str, str] = field(default_factory=dict)  # role -> key name to add
    policy: str | None = None  # setter marker policy ("ns:name")
    # What the chart puts before the repository field and this file cannot change
    # (``global.imageRegistry``, cert-manager's ``imageRegistry/imageNamespace``).
    name_prefix: str = ""
    # How a ``sha`` field spells a digest: "hex", "full" (sha256:hex) or "" (unknown).
    digest_form: str = ""
    # What an ``OLD=...`` change matches: a kustomization entry's ``name`` only; None:
    # the same as ``repositories``.
    entry_names: frozenset[str] | None = None
    # Roles whose field a setter marker gives to another policy than the change's: left
    # alone, and never a reason for a digest lookup.
    held: frozenset[str] = frozenset()
    # A block whose setter markers mark only some of its fields: the roles they mark.
    # A change that reaches the block through its policy alone writes only these.
    marked: frozenset[str] | None = None

    def answers_to(self, change: Change) -> bool:
        """Whether ``change`` means this site: through a policy alias, else (unless the
        change touches marked fields only) through the repository it deploys."""
        if self.policy is not None and self.policy in change.aliases:
            return True
        if change.only_marked:
            return False
        if change.by_name and self.entry_names is not None:
            return change.repository in self.entry_names
        return change.repository in self.repositories

    @property
    def image(self) -> str:
        return str(self.ref)

    @property
    def repository(self) -> str | None:
        if name_is_valid(self.ref.name):
            return self.ref.repository
        return min(self.repositories) if self.repositories else None

    def reference(self) -> Reference:
        return Reference(
            file=self.file,
            line=self.line,
            kind=self.kind,
            image=self.image if self.ref.name else "",  # a lone marked part names none
            name=self.ref.name,
            repository=self.repository,
            tag=self.ref.tag,
            digest=self.ref.digest,
            yaml_path=self.path,
            policy=self.policy,
        )


@dataclass(frozen=True)
class Assignment:
    role: str
    field: Field
    value: str


@dataclass(frozen=True)
class Insertion:
    mapping: MappingNode
    key: str
    value: str
    after: ScalarNode  # the new line goes after this scalar's line


@dataclass(frozen=True)
class Outcome:
    assignments: tuple[Assignment, ...]
    insertions: tuple[Insertion, ...]
    old_ref: str
    new_ref: str
    removals: tuple[Field, ...] = ()  # keys the edit takes out (a stale kustomize newTag)


@functools.lru_cache(maxsize=16384)
def name_is_valid(name: str) -> bool:
    try:
        validate_name(name)
    except InvalidReference:
        return False
    return True


def repositories_of(*names: str) -> frozenset[str]:
    return frozenset(normalise_name(n) for n in names if n and name_is_valid(n))


def parse_tag_value(value: str) -> tuple[str | None, str | None]:
    """A Helm ``tag`` may carry ``TAG@DIGEST``."""
    tag, _, digest = value.partition("@")
    return (tag or None), (digest or None)


def sha_to_digest(value: str) -> str | None:
    if not value:
        return None
    return value if ":" in value else f"sha256:{value}"


def _current(site: Site, change: Change) -> ImageRef:
    """The site's reference; a marker on a lone tag or digest does not name its image,
    so the change's name stands in (for messages and digest lookups)."""
    return site.ref if site.ref.name else dataclasses.replace(site.ref, name=change.spelled)


def _target(site: Site, change: Change, resolve_digest: ResolveDigest | None) -> ImageRef:
    old = _current(site, change)
    held = site.held
    new_name = change.new_name or old.name
    if (
        site.policy is not None
        and site.policy in change.aliases
        and old.name
        and not change.new_name
        and (not name_is_valid(old.name) or normalise_name(old.name) != change.repository)
    ):
        # A marked field takes the policy's whole result, repository included (Flux).
        new_name = change.spelled
    if "name" in held:
        new_name = old.name
    new_tag = change.tag if change.tag is not None else old.tag
    if "tag" in held:
        new_tag = old.tag
    elif site.kind == "kustomize" and change.drops_tag:
        new_tag = None
    if "digest" in held or "sha" in held or change.keep_digest:
        new_digest = old.digest
    elif change.digest is not None:
        new_digest = change.digest
    elif old.digest and (new_tag != old.tag or new_name != old.name):
        new_digest = _resolve(site, normalise_name(new_name), new_tag, resolve_digest)
    else:
        new_digest = old.digest
    return ImageRef(name=new_name, tag=new_tag, digest=new_digest)


def _resolve(site: Site, repository: str, tag: str | None, resolve: ResolveDigest | None) -> str:
    if tag is None:
        raise EditError(
            f"{site.image} pins a digest; give the new digest (NAME@DIGEST)",
            file=site.file,
            line=site.line,
        )
    if resolve is None:
        raise EditError(
            f"{site.image} pins a digest and no registry lookup is available; "
            "give IMAGE:TAG@DIGEST",
            file=site.file,
            line=site.line,
        )
    return resolve(repository, tag)


def apply(site: Site, change: Change, resolve_digest: ResolveDigest | None) -> Outcome | None:
    """The field writes that make ``site`` reference the change's image; None when the
    site already does."""
    new = _target(site, change, resolve_digest)
    wanted: dict[str, str] = {}
    fields = site.fields
    if "ref" in fields:
        wanted["ref"] = format_reference(new.name, new.tag, new.digest)
    if new.name != _current(site, change).name:
        if "name" in fields or "name" in site.insert_keys:
            wanted["name"] = new.name
        if site.name_prefix and ("repository" in fields or "repository" in site.insert_keys):
            wanted["repository"] = _below_prefix(site, new.name)
        elif "repository" in fields or "repository" in site.insert_keys:
            if (
                "registry" in fields
                and "/" in new.name
                and split_domain(new.name)[0] != "docker.io"
            ):
                registry, _, repository = new.name.partition("/")
                wanted["registry"] = registry
                wanted["repository"] = repository
            else:
                wanted["repository"] = new.name
    digest_home = (
        "digest"
        if "digest" in fields or "digest" in site.insert_keys
        else ("sha" if "sha" in fields or "sha" in site.insert_keys else None)
    )
    # A split site (no whole-reference field) must say the new tag somewhere: in its tag
    # field, in one it can add, or else it is an error below rather than a silent skip.
    split = "ref" not in fields
    if new.tag is not None and split and ("tag" in fields or new.tag != site.ref.tag):
        folded = new.digest if digest_home is None and site.kind != "marker" else None
        wanted["tag"] = f"{new.tag}@{folded}" if folded else new.tag
    if digest_home == "digest" and (new.digest or "digest" in fields):
        wanted["digest"] = new.digest or ""
    elif digest_home == "sha":
        wanted["sha"] = _sha_value(site, new.digest) if new.digest else ""

    removals: list[Field] = []
    if new.tag is None and site.ref.tag and "tag" in fields and "tag" not in site.held:
        removals.append(fields["tag"])  # only a kustomize entry's newTag gets here
    assignments: list[Assignment] = []
    insertions: list[Insertion] = []
    for role, value in wanted.items():
        if role in site.held:
            continue
        current = fields.get(role)
        if current is not None:
            text = current.prefix + value
            if text_of(current.node) != text:
                assignments.append(Assignment(role, current, text))
        elif value and site.mapping is not None and role in site.insert_keys:
            anchor = (fields.get("_anchor") or next(iter(fields.values()))).node
            insertions.append(Insertion(site.mapping, site.insert_keys[role], value, anchor))
        elif value and site.kind != "marker":
            # A marker marks one part on purpose; anywhere else a part we cannot write
            # would leave the reference half-updated, so say so instead.
            raise EditError(
                f"{site.image} has no {role} to set "
                f"and none can be added here ({site.path}); edit it by hand",
                file=site.file,
                line=site.line,
            )
    if not assignments and not insertions and not removals:
        return None
    return Outcome(
        assignments=tuple(assignments),
        insertions=tuple(insertions),
        old_ref=str(_current(site, change)),
        new_ref=format_reference(new.name, new.tag, new.digest),
        removals=tuple(removals),
    )


def _below_prefix(site: Site, name: str) -> str:
    """The repository field's new value when the chart prefixes it with a registry (and
    namespace) set elsewhere: a new name under another prefix cannot be written here."""
    prefix = site.name_prefix + "/"
    for spelling in (name, f"docker.io/{name}" if split_domain(name)[0] == "docker.io" else ""):
        if spelling.startswith(prefix) and len(spelling) > len(prefix):
            return spelling[len(prefix) :]
    raise EditError(
        f"{site.file}:{site.line}: {site.image}: the chart puts {prefix} (set outside this "
        f"block) before {site.path}; {name} cannot be written here, edit it by hand"
    )


def _sha_value(site: Site, digest: str) -> str:
    """A ``sha`` key keeps its form; an empty one takes the chart's, else it is refused
    rather than guessed (``@{{ .sha }}`` and ``@sha256:{{ .sha }}`` both exist)."""
    if site.digest_form == "hex":
        return digest.partition(":")[2]
    if site.digest_form == "full":
        return digest
    raise EditError(
        f"{site.file}:{site.line}: {site.path}.sha is empty and no chart template beside "
        "it shows whether it holds 'sha256:HEX' or HEX; set it by hand once (either form "
        "is kept from then on)"
    )


def ref_site(
    *,
    file: str,
    kind: str,
    path: str,
    node: ScalarNode,
    prefix: str = "",
    extra_names: tuple[str, ...] = (),
) -> Site | Skipped:
    """A site whose whole reference is one string (manifests, compose, image: "r:t")."""
    value = node.value[len(prefix) :]
    reason = unsupported_reason(value)
    if reason:
        return Skipped(file, int(node.start_mark.line) + 1, node.value, reason)
    ref = split_reference(value)
    if not name_is_valid(ref.name):
        return Skipped(file, int(node.start_mark.line) + 1, node.value, "not an image reference")
    return Site(
        file=file,
        kind=kind,
        path=path,
        line=int(node.start_mark.line) + 1,
        ref=ref,
        repositories=repositories_of(ref.name, *extra_names),
        fields={"ref": Field(node, path, prefix)},
    )


def unsupported_reason(value: str) -> str | None:
    """Values a bot must leave alone, and why."""
    if not value.strip():
        return "empty"
    if "{{" in value or "{%" in value:
        return "template expression"
    if "${" in value or value.startswith("$"):
        return "environment placeholder"
    if "*" in value or "?" in value:
        return "wildcard pattern"
    if _SPACE.search(value):
        return "contains white space"
    return None
