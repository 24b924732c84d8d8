"""The acceptance rule: which rendered differences an image update may cause.

A difference is accepted when it is
- an image string (a ``containers``/``initContainers``/``ephemeralContainers`` image, or
  any ``image`` field of a custom resource, or a key ending in ``Image``) that is a valid
  reference and now names what was asked: the asked tag and digest, on the asked
  repository (the new name of a rename), or on the same repository as before (a mirror
  set by ``newName``/a registry value) when the root's files hold a record of that change;
- a string that is the old string with accepted image references replaced by their new
  spelling (an ``--image=...`` argument, a ConfigMap naming the image);
- a label or annotation under ``metadata`` that the chart derives from the tag: the old
  value with the old tag replaced by the new one (also as Helm's label-safe
  ``+``->``_`` and 63-character spellings), a version/chart label now carrying the new
  tag, or a ``checksum`` annotation.
Everything else — objects added or removed, any other field — is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from updater.edit.model import Record
from updater.reference import (
    Change,
    ImageRef,
    InvalidReference,
    normalise_name,
    parse,
    split_reference,
)
from updater.render.objects import MISSING, Difference, ObjectKey, at, dotted

CONTAINER_LISTS = {
    "containers": "container",
    "initContainers": "init container",
    "ephemeralContainers": "ephemeral container",
}
VERSION_KEYS = frozenset(
    {
        "app.kubernetes.io/version",
        "version",
        "app.version",
        "helm.sh/chart",
        "chart",
        "app.kubernetes.io/chart",
    }
)


@dataclass(frozen=True)
class ImageChange:
    """One rendered image string that changed, and to what."""

    key: ObjectKey
    path: tuple[str | int, ...]
    old: str
    new: str
    container: str | None = None  # the container's name
    role: str | None = None  # container | init container | ephemeral container
    change: Change | None = None

    @property
    def field(self) -> str:
        return dotted(self.path)

    def describe(self) -> str:
        """``Deployment/api container api: 1.4.2 → 1.5.0``."""
        where = f"{self.role} {self.container}" if self.role else self.field
        return f"{self.key.short} {where}: {versions(self.old, self.new)}"


@dataclass(frozen=True)
class Refusal:
    difference: Difference
    reason: str

    def describe(self) -> str:
        d = self.difference
        where = dotted(d.path) or "(whole object)"
        return f"{d.key.short} {where}: {self.reason}"


@dataclass
class Verdict:
    images: list[ImageChange] = field(default_factory=list)
    derived: list[Difference] = field(default_factory=list)  # labels, checksums, args
    refused: list[Refusal] = field(default_factory=list)


def versions(old: str, new: str) -> str:
    """``1.4.2 → 1.5.0`` when the repository stays, the whole references otherwise."""
    a, b = split_reference(old), split_reference(new)
    if a.name == b.name:
        return f"{_version(a)} → {_version(b)}"
    return f"{old} → {new}"


def _version(ref: ImageRef) -> str:
    digest = ref.digest[:19] if ref.digest else ""
    if ref.tag and digest:
        return f"{ref.tag}@{digest}"
    return ref.tag or digest or "(no tag)"


def _is_image_key(path: tuple[str | int, ...]) -> bool:
    last = path[-1] if path else None
    return isinstance(last, str) and (last == "image" or last.endswith("Image"))


def _container(obj: Any, path: tuple[str | int, ...]) -> tuple[str | None, str | None]:
    for position in range(len(path) - 2, 0, -1):
        name = path[position - 1]
        if isinstance(name, str) and name in CONTAINER_LISTS and isinstance(path[position], int):
            if position + 1 != len(path) - 1:
                return None, None  # an image field deeper inside a container
            container = at(obj, path[:-1])
            shown = container.get("name") if isinstance(container, dict) else None
            return (str(shown) if shown is not None else f"#{path[position]}"), CONTAINER_LISTS[
                name
            ]
    return None, None


@dataclass(frozen=True)
class _Want:
    change: Change
    target: str  # normalised repository the new reference must name
    claimed: bool  # this root's files hold a record of the change
    digests: frozenset[str]  # digests the edit wrote (resolved pins), if the change has none


def _wants(changes: Sequence[Change], records: Iterable[Record]) -> list[_Want]:
    records = list(records)
    wants = []
    for change in changes:
        mine = [r for r in records if r.repository == change.repository]
        digests = {split_reference(r.new_ref).digest for r in mine}
        wants.append(
            _Want(
                change,
                normalise_name(change.new_name) if change.new_name else change.repository,
                bool(mine),
                frozenset(d for d in digests if d),
            )
        )
    return wants


def _matches(want: _Want, old: ImageRef | None, new: ImageRef, *, mirror: bool) -> bool:
    """``new`` is what ``want`` asked: on its repository, or (``mirror``) on the
    repository the root already pulled it from, a mirror with the same last path part."""
    change = want.change
    if mirror:
        if not (want.claimed and old is not None and old.repository == new.repository):
            return False
        if new.path.rpartition("/")[2] != want.target.rpartition("/")[2]:
            return False
    elif new.repository != want.target:
        return False
    if change.tag is not None and change.tag != "*" and new.tag != change.tag:
        return False
    if change.digest is not None and change.digest != "*":
        return new.digest == change.digest
    if new.digest is None:
        return True
    # no digest asked: one the edit resolved for a pinned reference, never a stale one
    return new.digest in want.digests


def classify(
    differences: Sequence[Difference],
    before: dict[ObjectKey, Any],
    after: dict[ObjectKey, Any],
    changes: Sequence[Change],
    records: Iterable[Record],
) -> Verdict:
    verdict = Verdict()
    wants = _wants(changes, records)
    rest: list[Difference] = []
    for difference in differences:
        if (
            difference.path
            and _is_image_key(difference.path)
            and isinstance(difference.new, str)
            and (isinstance(difference.old, str) or difference.old is MISSING)
        ):
            refusal = _image(difference, after, wants, verdict)
            if refusal is not None:
                verdict.refused.append(refusal)
        else:
            rest.append(difference)
    pairs = [(i.old, i.new) for i in verdict.images]
    tags = _tag_pairs(verdict.images)
    for difference in rest:
        reason = _derived(difference, pairs, tags)
        if reason is None:
            verdict.derived.append(difference)
        else:
            verdict.refused.append(Refusal(difference, reason))
    return verdict


def _image(
    difference: Difference, after: dict[ObjectKey, Any], wants: list[_Want], verdict: Verdict
) -> Refusal | None:
    new_text = str(difference.new)
    old_text = difference.old if isinstance(difference.old, str) else None
    try:
        new = parse(new_text)
    except InvalidReference as error:
        return Refusal(difference, f"renders an invalid image reference: {error}")
    old = split_reference(old_text) if old_text else None
    container, role = _container(after.get(difference.key), difference.path)
    found = next((w for w in wants if _matches(w, old, new, mirror=False)), None)
    if found is None and not any(old and old.repository == w.target for w in wants):
        found = next((w for w in wants if _matches(w, old, new, mirror=True)), None)
    if found is not None:
        verdict.images.append(
            ImageChange(
                difference.key,
                difference.path,
                old_text or "",
                new_text,
                container,
                role,
                found.change,
            )
        )
        return None
    asked = ", ".join(str(w.change) for w in wants) or "nothing"
    shown = f"{old_text} → {new_text}" if old_text else f"new image {new_text}"
    return Refusal(difference, f"image {shown} is not what was asked ({asked})")


def _tag_pairs(images: Iterable[ImageChange]) -> list[tuple[str, str]]:
    pairs = []
    for image in images:
        a, b = split_reference(image.old), split_reference(image.new)
        if a.tag and b.tag and a.tag != b.tag:
            pairs.append((a.tag, b.tag))
    return list(dict.fromkeys(pairs))


def _label_safe(tag: str) -> list[str]:
    spellings = [tag, tag.replace("+", "_"), tag.removeprefix("v")]
    return list(dict.fromkeys(spellings))


def _trunc(text: str) -> str:
    return text[:63].rstrip("-")


def _derived(
    difference: Difference, pairs: list[tuple[str, str]], tags: list[tuple[str, str]]
) -> str | None:
    """None when ``difference`` follows from accepted image changes, else why not."""
    old, new = difference.old, difference.new
    if not difference.path:
        return "object added" if old is MISSING else "object removed"
    if isinstance(old, str) and isinstance(new, str) and pairs:
        replaced = old
        for a, b in pairs:
            replaced = replaced.replace(a, b)
        if replaced == new:
            return None
    path = difference.path
    key = path[-1]
    is_meta = len(path) >= 3 and path[-3] == "metadata" and path[-2] in ("labels", "annotations")
    if is_meta and isinstance(key, str) and isinstance(new, str):
        if path[-2] == "annotations" and "checksum" in key.lower():
            return None
        for a, b in tags:
            for old_tag, new_tag in zip(_label_safe(a), _label_safe(b), strict=True):
                if isinstance(old, str) and old_tag in old:
                    replaced = old.replace(old_tag, new_tag)
                    if new in (replaced, _trunc(replaced)):
                        return None
                if key in VERSION_KEYS and new_tag in new:
                    return None
    what = "added" if old is MISSING else "removed" if new is MISSING else "changed"
    if old is MISSING:
        return f"{what}: {_short(new)}"
    if new is MISSING:
        return f"{what}: {_short(old)}"
    return f"{what}: {_short(old)} → {_short(new)} (not an image the change asked for)"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 80 else text[:77] + "..."


def stale(
    after: dict[ObjectKey, Any], changes: Sequence[Change], records: Iterable[Record]
) -> list[str]:
    """Containers that still run another version of an image the root's files were
    edited for (an overlay pinning its own tag, an Application parameter): not a
    failure, but what a reviewer must see."""
    claimed = {r.repository for r in records}
    wanted = {c.repository: c for c in changes if c.repository in claimed and not c.new_name}
    lines = []
    for key, obj in after.items():
        for path, text in _container_images(obj, ()):
            ref = split_reference(text)
            change = wanted.get(normalise_name(ref.name))
            if change is None:
                continue
            if (change.tag is None or ref.tag == change.tag) and (
                change.digest is None or ref.digest == change.digest
            ):
                continue
            container, role = _container(obj, path)
            where = f"{role} {container}" if role else dotted(path)
            lines.append(f"{key.short} {where} still runs {text}")
    return lines


def _container_images(node: Any, path: tuple[str | int, ...]) -> Iterable[tuple[Any, str]]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name in CONTAINER_LISTS and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("image"), str):
                        yield (*path, name, index, "image"), item["image"]
            else:
                yield from _container_images(value, (*path, name))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _container_images(item, (*path, index))
