"""What an Argo CD Application or Flux HelmRelease adds to a render, read from the
manifest's text in one state (before or after the edit): inline values and parameters
for ``helm template``, and the ``kustomize`` overrides Argo CD applies to a path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from updater.render.roots import Root, documents


@dataclass
class HelmInputs:
    values: list[Any] = field(default_factory=list)  # inline values, lowest first
    sets: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, string)
    include_crds: bool = True
    notes: list[str] = field(default_factory=list)


def _document(root: Root, text: str) -> dict[str, Any] | None:
    assert root.via is not None
    found = documents(text)
    if root.via.document >= len(found):
        return None
    doc = found[root.via.document]
    return doc if isinstance(doc, dict) else None


def _argo_source(root: Root, doc: dict[str, Any]) -> dict[str, Any]:
    assert root.via is not None
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    if root.via.source < 0:
        source = spec.get("source")
    else:
        sources = spec.get("sources") or []
        source = sources[root.via.source] if root.via.source < len(sources) else None
    return source if isinstance(source, dict) else {}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def helm_inputs(root: Root, text: str | None) -> HelmInputs:
    """Inline values and ``--set`` parameters of ``root``'s manifest in this state."""
    inputs = HelmInputs()
    if root.via is None or text is None:
        return inputs
    doc = _document(root, text)
    if doc is None:
        inputs.notes.append(f"{root.via.file}: document {root.via.document + 1} is unreadable")
        return inputs
    if root.via.kind == "HelmRelease":
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        if isinstance(spec.get("values"), dict):
            inputs.values.append(spec["values"])
        if spec.get("valuesFrom"):
            inputs.notes.append(
                f"{root.via.file}: valuesFrom (ConfigMaps/Secrets in the cluster) not rendered"
            )
        return inputs
    helm = _argo_source(root, doc).get("helm")
    if not isinstance(helm, dict):
        return inputs
    if isinstance(helm.get("values"), str):
        import yaml

        try:
            parsed = yaml.safe_load(helm["values"])
        except yaml.YAMLError:
            parsed = None
        if isinstance(parsed, dict):
            inputs.values.append(parsed)
    if isinstance(helm.get("valuesObject"), dict):
        inputs.values.append(helm["valuesObject"])
    for parameter in helm.get("parameters") or []:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            inputs.sets.append(
                (
                    parameter["name"],
                    _scalar(parameter.get("value")),
                    bool(parameter.get("forceString")),
                )
            )
    inputs.include_crds = not helm.get("skipCrds")
    return inputs


KUSTOMIZE_OVERRIDES = ("namePrefix", "nameSuffix", "namespace", "commonLabels",
                       "commonAnnotations")  # fmt: skip


def _image_entry(text: str) -> dict[str, str]:
    """An Argo CD ``kustomize.images`` string as a kustomization ``images:`` entry."""
    from updater.reference import split_reference

    old, sep, new = text.partition("=")
    name = old
    target = new if sep else old
    ref = split_reference(target)
    if not sep:
        name = ref.name
    entry = {"name": split_reference(name).name if sep else name}
    if sep and ref.name != entry["name"]:
        entry["newName"] = ref.name
    if ref.tag:
        entry["newTag"] = ref.tag
    if ref.digest:
        entry["digest"] = ref.digest
    return entry


def kustomize_overrides(root: Root, text: str | None) -> dict[str, Any]:
    """The kustomization fields Argo CD sets on ``root`` (``kustomize.images`` and the
    name/label/namespace overrides), as a wrapper kustomization's fields."""
    if root.via is None or text is None:
        return {}
    doc = _document(root, text)
    if doc is None:
        return {}
    kustomize = _argo_source(root, doc).get("kustomize")
    if not isinstance(kustomize, dict):
        return {}
    fields: dict[str, Any] = {}
    images = [_image_entry(i) for i in kustomize.get("images") or [] if isinstance(i, str)]
    if images:
        fields["images"] = images
    for key in KUSTOMIZE_OVERRIDES:
        if kustomize.get(key):
            fields[key] = kustomize[key]
    return fields
