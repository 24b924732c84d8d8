"""Which renders a plan touches: kustomize roots and Helm charts whose inputs changed.

A kustomize root is a kustomization (not a Component) whose closure — itself, and
through ``resources``/``bases``/``components`` every kustomization it pulls in, with the
files each one names — holds a changed file. A Helm root is a chart in the repo whose
``values.yaml`` (or a vendored subchart's) changed, or a chart in the repo that an
Argo CD Application or a Flux HelmRelease deploys with a values file or inline values
that changed. Roots that cannot be rendered offline say why in ``problem``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules"})
MANIFEST_HINTS = (b"argoproj.io", b"helm.toolkit.fluxcd.io")
REMOTE_PREFIXES = ("github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::", "ssh://")

try:  # libyaml when present: rendered charts can be megabytes
    SafeLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    SafeLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Via:
    """The Argo CD Application or Flux HelmRelease a root is deployed through: its
    inputs (inline values, parameters, images) are read from this file's text for each
    state, so an edit of the manifest itself is rendered too."""

    file: str
    document: int  # index among the file's YAML documents
    kind: str  # Application | HelmRelease
    name: str
    source: int = -1  # Argo CD: index in spec.sources (-1: spec.source)


@dataclass(frozen=True)
class Root:
    kind: str  # kustomize | helm
    path: str  # repo-relative directory ('' is the repo root), '/'-separated
    files: frozenset[str]  # repo-relative files whose change changes the render
    dirs: tuple[str, ...] = ()  # directories to copy for the "after" state
    via: Via | None = None
    release: str = "release-name"
    namespace: str | None = None
    value_files: tuple[str, ...] = ()  # repo-relative, in order
    problem: str | None = None  # why this root cannot be rendered offline

    @property
    def label(self) -> str:
        where = self.path or "."
        if self.via is None:
            return where
        return f"{where} (via {self.via.kind} {self.via.name} in {self.via.file})"


@dataclass
class Discovery:
    roots: list[Root] = field(default_factory=list)
    # changed files deployed through something this repo does not hold (a chart from
    # a Helm repository, a remote base): "file: reason"
    unrenderable: list[tuple[str, str]] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # changed files no root includes


# --------------------------------------------------------------------------- repo walk


@dataclass
class _Tree:
    kustomizations: dict[str, str] = field(default_factory=dict)  # dir -> file name
    charts: set[str] = field(default_factory=set)  # dirs holding Chart.yaml
    manifests: list[str] = field(default_factory=list)  # files that may be Apps/HRs


def _walk(root: Path) -> _Tree:
    tree = _Tree()
    stack = [""]
    while stack:
        relative = stack.pop()
        directory = root / relative if relative else root
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        names = {entry.name for entry in entries}
        if "Chart.yaml" in names:
            tree.charts.add(relative)
        for name in KUSTOMIZATION_NAMES:
            if name in names:
                tree.kustomizations[relative] = name
                break
        in_templates = posixpath.basename(relative) == "templates"
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIPPED_DIRS:
                        stack.append(path)
                elif (
                    entry.name.endswith((".yaml", ".yml"))
                    and not in_templates
                    and entry.is_file(follow_symlinks=False)
                ):
                    tree.manifests.append(path)
            except OSError:
                continue
    return tree


def _norm(base: str, reference: str) -> str | None:
    """``reference`` relative to directory ``base``, normalised; None if it leaves the repo."""
    joined = (
        posixpath.normpath(posixpath.join(base, reference))
        if base
        else posixpath.normpath(reference)
    )
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == ".." or posixpath.isabs(joined):
        return None
    return joined


def _load(path: Path) -> Any:
    try:
        return yaml.load(path.read_bytes(), Loader=SafeLoader)
    except (OSError, yaml.YAMLError, ValueError):
        return None


def is_remote(reference: str) -> bool:
    lowered = reference.lower()
    return (
        "://" in lowered
        or lowered.startswith(REMOTE_PREFIXES)
        or "?ref=" in lowered
        or "//" in lowered.split("?")[0].lstrip("/")
    )


# --------------------------------------------------------------------------- kustomize


@dataclass
class _Kustomization:
    directory: str
    component: bool
    files: set[str]  # files it names (and its own file)
    bases: list[str]  # kustomization directories it pulls in
    problems: list[str]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _generator_files(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return []
    found = []
    for item in _strings(entry.get("files")):
        found.append(item.partition("=")[2] or item)
    found += _strings(entry.get("envs")) + _strings(entry.get("env"))
    return found


def _read_kustomization(root: Path, directory: str, name: str, tree: _Tree) -> _Kustomization:
    own = f"{directory}/{name}" if directory else name
    data = _load(root / own)
    result = _Kustomization(directory, False, {own}, [], [])
    if not isinstance(data, dict):
        return result
    result.component = data.get("kind") == "Component"
    named: list[str] = []
    dirs_or_files: list[str] = []
    for key in ("resources", "bases", "components", "crds"):
        dirs_or_files += _strings(data.get(key))
    for key in ("transformers", "generators", "validators"):
        dirs_or_files += [s for s in _strings(data.get(key)) if "\n" not in s]
    named += [s for s in _strings(data.get("patchesStrategicMerge")) if "\n" not in s]
    named += _strings(data.get("configurations"))
    for key in ("patches", "patchesJson6902", "replacements"):
        for entry in data.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                named.append(entry["path"])
    for key in ("configMapGenerator", "secretGenerator"):
        for entry in data.get(key) or []:
            named += _generator_files(entry)
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        named.append(openapi["path"])
    if data.get("helmCharts") or data.get("helmChartInflationGenerator"):
        result.problems.append(
            f"{own} inflates helmCharts (kustomize needs --enable-helm and the network)"
        )
    for reference in dirs_or_files:
        if is_remote(reference):
            result.problems.append(f"{own} has a remote resource {reference} (needs the network)")
            continue
        target = _norm(directory, reference)
        if target is None:
            continue
        if target in tree.kustomizations:
            result.bases.append(target)
        else:
            result.files.add(target)
    for reference in named:
        target = _norm(directory, reference)
        if target is not None:
            result.files.add(target)
    return result


def _closures(
    kustomizations: Mapping[str, _Kustomization],
) -> dict[str, tuple[frozenset[str], frozenset[str], tuple[str, ...]]]:
    """Per kustomization directory: (files, directories, problems) of its whole closure."""
    done: dict[str, tuple[frozenset[str], frozenset[str], tuple[str, ...]]] = {}

    def visit(
        directory: str, stack: tuple[str, ...]
    ) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
        if directory in done:
            return done[directory]
        node = kustomizations[directory]
        files = set(node.files)
        dirs = {directory}
        problems = list(node.problems)
        for base in node.bases:
            if base in stack:
                continue  # kustomize reports the cycle itself
            sub_files, sub_dirs, sub_problems = visit(base, (*stack, base))
            files |= sub_files
            dirs |= sub_dirs
            problems += [p for p in sub_problems if p not in problems]
        done[directory] = (frozenset(files), frozenset(dirs), tuple(problems))
        return done[directory]

    for directory in kustomizations:
        visit(directory, (directory,))
    return done


# --------------------------------------------------------------------------- helm


def chart_files(root: Path, chart: str) -> set[str]:
    """The values files a default render of ``chart`` reads: its own and every vendored
    subchart's ``values.yaml`` (``values.yml`` too)."""
    found: set[str] = set()
    stack = [chart]
    while stack:
        current = stack.pop()
        for name in ("values.yaml", "values.yml"):
            path = f"{current}/{name}" if current else name
            if (root / path).is_file():
                found.add(path)
        charts_dir = f"{current}/charts" if current else "charts"
        try:
            entries = list(os.scandir(root / charts_dir))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and (Path(entry.path) / "Chart.yaml").is_file():
                stack.append(f"{charts_dir}/{entry.name}")
    return found


def outer_chart(charts: set[str], directory: str) -> str | None:
    """The outermost chart that renders ``directory`` (a chart or a vendored subchart)."""
    found: str | None = None
    current = directory
    while True:
        if current in charts:
            found = current
        elif found is not None and posixpath.basename(current) != "charts":
            break
        if not current:
            break
        current = posixpath.dirname(current)
    return found


def missing_dependencies(root: Path, chart: str) -> list[str]:
    """Dependencies of ``chart`` (and its vendored subcharts) not vendored in charts/."""
    missing = []
    stack = [chart]
    while stack:
        current = stack.pop()
        base = root / current if current else root
        metadata = _load(base / "Chart.yaml")
        dependencies = metadata.get("dependencies") if isinstance(metadata, dict) else None
        if not dependencies:
            requirements = _load(base / "requirements.yaml")
            if isinstance(requirements, dict):
                dependencies = requirements.get("dependencies")
        charts_dir = base / "charts"
        present = set(os.listdir(charts_dir)) if charts_dir.is_dir() else set()
        for dependency in dependencies or []:
            if not isinstance(dependency, dict) or not isinstance(dependency.get("name"), str):
                continue
            name = dependency["name"]
            if name in present:
                stack.append(f"{current}/charts/{name}" if current else f"charts/{name}")
            elif not any(p.startswith(f"{name}-") and p.endswith(".tgz") for p in present):
                where = dependency.get("repository") or "no repository"
                missing.append(f"{name} ({where})")
    return missing


def _helm_root(
    root: Path,
    chart: str,
    *,
    extra_files: Iterable[str] = (),
    via: Via | None = None,
    release: str | None = None,
    namespace: str | None = None,
    value_files: tuple[str, ...] = (),
) -> Root:
    files = chart_files(root, chart) | set(extra_files) | set(value_files)
    missing = missing_dependencies(root, chart)
    problem = None
    if missing:
        problem = (
            f"{chart or '.'}: chart dependencies not vendored in charts/: {', '.join(missing)}"
            " (helm dependency build needs the network)"
        )
    return Root(
        kind="helm",
        path=chart,
        files=frozenset(files),
        dirs=(chart,),
        via=via,
        release=release or _default_release(root, chart),
        namespace=namespace,
        value_files=value_files,
        problem=problem,
    )


def _default_release(root: Path, chart: str) -> str:
    metadata = _load((root / chart if chart else root) / "Chart.yaml")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(name) if isinstance(name, str) and name else "release-name"


# --------------------------------------------------------------------------- Argo CD, Flux


def documents(text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=SafeLoader))
    except (yaml.YAMLError, ValueError):
        return []


def _argo_sources(spec: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(spec.get("source"), dict):
        yield -1, spec["source"]
    for index, source in enumerate(spec.get("sources") or []):
        if isinstance(source, dict):
            yield index, source


def _argo_value_file(chart: str, reference: str, refs: Mapping[str, str]) -> str | None:
    if reference.startswith("$"):
        name, _, rest = reference[1:].partition("/")
        if name not in refs:
            return None
        return _norm("", rest)
    return _norm(chart, reference)


def _from_application(
    root: Path, tree: _Tree, file: str, index: int, doc: dict[str, Any], closures: Any,
    discovery: Discovery,
) -> None:  # fmt: skip
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    name = str((doc.get("metadata") or {}).get("name") or "application")
    destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    namespace = destination.get("namespace") if isinstance(destination, dict) else None
    refs = {
        str(source["ref"]): str(source.get("repoURL", ""))
        for _, source in _argo_sources(spec)
        if isinstance(source.get("ref"), str)
    }
    for position, source in _argo_sources(spec):
        via = Via(file, index, "Application", name, position)
        path = source.get("path")
        if isinstance(source.get("chart"), str) and not isinstance(path, str):
            discovery.unrenderable.append(
                (file, f"Application {name} deploys chart {source['chart']} from "
                       f"{source.get('repoURL', 'a Helm repository')}, not from this repo"),
            )  # fmt: skip
            continue
        if not isinstance(path, str):
            continue
        directory = _norm("", path)
        if directory is None:
            continue
        helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
        if directory in tree.charts:
            assert isinstance(helm, dict)
            value_files = []
            for reference in _strings(helm.get("valueFiles")):
                resolved = _argo_value_file(directory, reference, refs)
                if resolved is not None and (root / resolved).is_file():
                    value_files.append(resolved)
            discovery.roots.append(
                _helm_root(
                    root,
                    directory,
                    extra_files=(file,),
                    via=via,
                    release=str(helm.get("releaseName") or name),
                    namespace=namespace if isinstance(namespace, str) else None,
                    value_files=tuple(value_files),
                )
            )
        elif directory in tree.kustomizations:
            files, dirs, problems = closures[directory]
            discovery.roots.append(
                Root(
                    kind="kustomize",
                    path=directory,
                    files=files | {file},
                    dirs=tuple(sorted(dirs)),
                    via=via,
                    problem="; ".join(problems) or None,
                )
            )


def _from_helm_release(
    root: Path, tree: _Tree, file: str, index: int, doc: dict[str, Any], discovery: Discovery
) -> None:
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    name = str(metadata.get("name") or "release")
    chart_spec = (
        ((spec.get("chart") or {}).get("spec") or {}) if isinstance(spec.get("chart"), dict) else {}
    )
    chart = chart_spec.get("chart") if isinstance(chart_spec, dict) else None
    source = chart_spec.get("sourceRef") if isinstance(chart_spec, dict) else None
    kind = source.get("kind") if isinstance(source, dict) else None
    directory = _norm("", chart) if isinstance(chart, str) else None
    if (
        kind not in ("GitRepository", "Bucket")
        or directory is None
        or (directory not in tree.charts)
    ):
        where = f"{kind} {source.get('name')}" if isinstance(source, dict) else "a chart reference"
        shown = chart if isinstance(chart, str) else "its chart"
        discovery.unrenderable.append(
            (file, f"HelmRelease {name} deploys {shown} from {where}, not from this repo")
        )
        return
    value_files = []
    listed = _strings(chart_spec.get("valuesFiles")) + _strings(chart_spec.get("valuesFile"))
    for reference in listed:
        resolved = _norm("", reference)
        if resolved is not None and (root / resolved).is_file():
            value_files.append(resolved)
    target = spec.get("targetNamespace")
    namespace = target if isinstance(target, str) else metadata.get("namespace")
    release = spec.get("releaseName") or (f"{target}-{name}" if isinstance(target, str) else name)
    discovery.roots.append(
        _helm_root(
            root,
            directory,
            extra_files=(file,),
            via=Via(file, index, "HelmRelease", name),
            release=str(release),
            namespace=namespace if isinstance(namespace, str) else None,
            value_files=tuple(value_files),
        )
    )


def _kind(doc: Any, group: str, kind: str) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == kind
        and str(doc.get("apiVersion", "")).startswith(group)
    )


# --------------------------------------------------------------------------- discovery


def discover(root: Path, changed: Mapping[str, str]) -> Discovery:
    """Roots whose render a change of ``changed`` (path -> new text) may alter."""
    tree = _walk(root)
    discovery = Discovery()
    kustomizations = {
        directory: _read_kustomization(root, directory, name, tree)
        for directory, name in tree.kustomizations.items()
    }
    closures = _closures(kustomizations)
    changed_set = set(changed)
    for directory, (files, dirs, problems) in sorted(closures.items()):
        if kustomizations[directory].component or not files & changed_set:
            continue
        discovery.roots.append(
            Root(
                kind="kustomize",
                path=directory,
                files=files,
                dirs=tuple(sorted(dirs)),
                problem="; ".join(problems) or None,
            )
        )
    seen_charts: set[str] = set()
    for path in sorted(changed_set):
        chart = outer_chart(tree.charts, posixpath.dirname(path))
        if chart is None or chart in seen_charts:
            continue
        if path in chart_files(root, chart):
            seen_charts.add(chart)
            discovery.roots.append(_helm_root(root, chart))
    for file in tree.manifests:
        text = changed.get(file)
        try:
            raw = text.encode("utf-8") if text is not None else (root / file).read_bytes()
        except OSError:
            continue
        if not any(hint in raw for hint in MANIFEST_HINTS):
            continue
        before = _decode(root / file)
        for index, doc in enumerate(documents(before)):
            if _kind(doc, "argoproj.io/", "Application"):
                _from_application(root, tree, file, index, doc, closures, discovery)
            elif _kind(doc, "helm.toolkit.fluxcd.io/", "HelmRelease"):
                _from_helm_release(root, tree, file, index, doc, discovery)
    discovery.roots = [r for r in discovery.roots if r.files & changed_set]
    discovery.unrenderable = [(f, why) for f, why in discovery.unrenderable if f in changed_set]
    covered = {f for r in discovery.roots for f in r.files} | {f for f, _ in discovery.unrenderable}
    discovery.uncovered = sorted(changed_set - covered)
    return discovery


def _decode(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", "replace")
    except OSError:
        return ""
