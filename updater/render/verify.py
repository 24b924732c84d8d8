"""Render every affected root before and after a plan, in parallel, and judge the
differences. Planning wrote nothing, so the "after" state is a scratch copy of the
directories the roots read, with the plan's new texts written into it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from updater.edit.model import DEFAULT_IMAGE, Plan, Record
from updater.errors import EditError
from updater.reference import Change
from updater.render import tools
from updater.render.check import ImageChange, Verdict, classify, stale
from updater.render.inputs import helm_inputs, kustomize_overrides
from updater.render.objects import RenderedOutputError, diff, parse
from updater.render.roots import Discovery, Root, discover
from updater.render.text import first_error, rendered_diff, safe

MODES = ("on", "strict")
NETWORK_HINTS = (
    "missing in charts/ directory",
    "proxyconnect",
    "dial tcp",
    "no such host",
    "could not download",
    "--enable-helm",
    "no repository definition",
    "failed to fetch",
    "git clone",
    "fatal: unable to access",
)


@dataclass(frozen=True)
class VerifyOptions:
    mode: str = "on"  # on: what cannot be rendered is reported; strict: it fails
    kustomize_bin: str | None = None
    helm_bin: str | None = None
    workers: int | None = None


@dataclass
class RootResult:
    root: Root
    status: str  # verified | failed | not verified
    renderer: str | None = None
    reason: str | None = None
    verdict: Verdict | None = None
    seconds: float = 0.0
    rendered_diff: str = ""
    ignored: int = 0  # values that differ between two renders of the same input
    stale: list[str] = field(default_factory=list)  # containers left at another version

    @property
    def images(self) -> list[ImageChange]:
        return self.verdict.images if self.verdict else []


@dataclass
class Verification:
    mode: str
    results: list[RootResult] = field(default_factory=list)
    unrenderable: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    uncovered: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)  # asked changes no render shows

    @property
    def not_verified(self) -> list[str]:
        lines = [f"{r.root.label}: {r.reason}" for r in self.results if r.status == "not verified"]
        return lines + [f"{file}: {why}" for file, why in self.unrenderable]

    @property
    def failures(self) -> list[str]:
        lines = [f"{r.root.label}: {r.reason}" for r in self.results if r.status == "failed"]
        lines += self.unseen
        if self.mode == "strict":
            lines += [f"not verified (strict): {line}" for line in self.not_verified]
        return lines

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary_lines(self) -> list[str]:
        """``ROOT: Deployment/api container api: 1.4.2 → 1.5.0``, then what was not verified."""
        lines = []
        for result in self.results:
            for image in result.images:
                lines.append(f"{result.root.label}: {image.describe()}")
        for result in self.results:
            lines += [f"{result.root.label}: unchanged: {line}" for line in result.stale]
        lines += [f"not verified: {line}" for line in self.not_verified]
        return lines

    def as_json(self) -> dict[str, Any]:
        status = "failed" if not self.ok else (
            "partly verified" if self.not_verified else "verified"
        )  # fmt: skip
        return {
            "status": status,
            "mode": self.mode,
            "summary": self.summary_lines(),
            "roots": [_result_json(r) for r in self.results],
            "not_verified": self.not_verified,
            "unseen": self.unseen,
            "uncovered": self.uncovered,
            "failures": self.failures,
        }


def _result_json(result: RootResult) -> dict[str, Any]:
    root = result.root
    verdict = result.verdict
    return {
        "root": root.path or ".",
        "kind": root.kind,
        "via": (
            {"file": root.via.file, "kind": root.via.kind, "name": root.via.name}
            if root.via
            else None
        ),
        "status": result.status,
        "renderer": result.renderer,
        "reason": result.reason,
        "seconds": round(result.seconds, 3),
        "images": [
            {
                "object": str(i.key.short),
                "api_version": i.key.api_version,
                "namespace": i.key.namespace or None,
                "field": i.field,
                "container": i.container,
                "role": i.role,
                "old": i.old,
                "new": i.new,
                "summary": i.describe(),
            }
            for i in (verdict.images if verdict else [])
        ],
        "derived": [
            {"object": d.key.short, "field": _dotted(d.path)}
            for d in (verdict.derived if verdict else [])
        ],
        "refused": [r.describe() for r in (verdict.refused if verdict else [])],
        "ignored_random": result.ignored,
        "unchanged": result.stale,
    }


def _dotted(path: Any) -> str:
    from updater.render.objects import dotted

    return dotted(path)


class RenderCheckError(EditError):
    """The rendered objects changed in a way an image update must not cause."""

    def __init__(self, message: str, verification: Verification, plan: Plan) -> None:
        super().__init__(message)
        self.verification = verification
        self.plan = plan

    def as_json(self) -> dict[str, Any]:
        """With ``--json`` the refusal carries the whole render report."""
        return {**super().as_json(), "render": self.verification.as_json()}

    @property
    def details(self) -> str:
        """The rendered diffs and every reason, for people (stderr)."""
        chunks = [r.rendered_diff for r in self.verification.results if r.rendered_diff]
        chunks += [f"render check: {safe(line)}\n" for line in self.verification.failures]
        return "".join(chunks)


# --------------------------------------------------------------------------- running


@dataclass
class _Job:
    root: Root
    state: str  # before | after
    argv: list[str]
    cwd: Path
    result: tools.Completed | None = None


def _top_dirs(dirs: Sequence[str]) -> list[str]:
    top: list[str] = []
    for directory in sorted(set(dirs), key=lambda d: (d.count("/"), d)):
        if directory == "" or not any(
            t == "" or directory == t or directory.startswith(t + "/") for t in top
        ):
            top.append(directory)
    return [""] if "" in top else top


def _after_tree(plan: Plan, roots: Sequence[Root], target: Path) -> None:
    # Every root here has a changed file, so each needs all of its directories.
    needed = [d for r in roots for d in r.dirs]
    ignore = shutil.ignore_patterns(".git")
    for directory in _top_dirs(needed):
        source = plan.root / directory if directory else plan.root
        shutil.copytree(source, target / directory, symlinks=True, ignore=ignore,
                        dirs_exist_ok=True)  # fmt: skip
    for edit in plan.edits:
        path = target / edit.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(edit.new_text)


def _texts(plan: Plan, file: str) -> tuple[str | None, str | None]:
    for edit in plan.edits:
        if edit.path == file:
            return edit.old_text, edit.new_text
    try:
        text = (plan.root / file).read_bytes().decode("utf-8-sig", "replace")
    except OSError:
        return None, None
    return text, text


def _helm_argv(
    renderer: tools.Renderer, root: Root, base: Path, text: str | None, scratch: Path, state: str
) -> list[str]:
    chart = base / root.path if root.path else base
    argv = [*renderer.prefix, root.release, str(chart)]
    if root.namespace:
        argv += ["--namespace", root.namespace]
    inputs = helm_inputs(root, text)
    if inputs.include_crds:
        argv.append("--include-crds")
    for value_file in root.value_files:
        argv += ["-f", str(base / value_file)]
    for number, values in enumerate(inputs.values):
        path = scratch / f"values-{state}-{number}.json"
        path.write_text(json.dumps(values, default=str), encoding="utf-8")
        argv += ["-f", str(path)]
    for name, value, string in inputs.sets:
        argv += [
            "--set-string" if string else "--set",
            f"{name}={value.replace(',', chr(92) + ',')}",
        ]
    return argv


def _kustomize_argv(
    renderer: tools.Renderer, root: Root, base: Path, text: str | None, scratch: Path, state: str
) -> list[str]:
    target = base / root.path if root.path else base
    overrides = kustomize_overrides(root, text)
    if not overrides:
        return [*renderer.prefix, str(target)]
    # Argo CD sets these with `kustomize edit` on a copy; a wrapper kustomization over
    # the path applies the same overrides without touching it.
    wrapper = scratch / f"wrap-{state}"
    wrapper.mkdir()
    body = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [os.path.relpath(target, wrapper)], **overrides}  # fmt: skip
    (wrapper / "kustomization.yaml").write_text(json.dumps(body), encoding="utf-8")
    return [*renderer.prefix, str(wrapper)]


def verify(plan: Plan, options: VerifyOptions) -> Verification:
    """Render the plan's roots before and after; never raises for what it finds."""
    verification = Verification(mode=options.mode)
    if not plan.changed:
        return verification
    changed = {edit.path: edit.new_text for edit in plan.edits}
    discovery: Discovery = discover(plan.root, changed)
    verification.unrenderable = discovery.unrenderable
    verification.uncovered = discovery.uncovered
    renderers: dict[str, tools.Renderer | None] = {}
    for kind in {root.kind for root in discovery.roots if root.problem is None}:
        renderers[kind] = (
            tools.find_kustomize(options.kustomize_bin)
            if kind == "kustomize"
            else tools.find_helm(options.helm_bin)
        )
    with tempfile.TemporaryDirectory(prefix="updater-render-") as scratch_name:
        scratch = Path(scratch_name)
        after_base = scratch / "after"
        after_base.mkdir()
        home = scratch / "home"
        home.mkdir()
        env = tools.offline_env(home)
        renderable = [
            r for r in discovery.roots if r.problem is None and renderers.get(r.kind) is not None
        ]
        _after_tree(plan, renderable, after_base)
        jobs: list[_Job] = []
        results: dict[int, RootResult] = {}
        for number, root in enumerate(discovery.roots):
            renderer = renderers.get(root.kind)
            if root.problem is not None:
                results[number] = RootResult(root, "not verified", reason=root.problem)
                continue
            if renderer is None:
                flag = "--kustomize-bin" if root.kind == "kustomize" else "--helm-bin"
                names = "kustomize or kubectl" if root.kind == "kustomize" else "helm"
                results[number] = RootResult(
                    root, "not verified", reason=f"no {names} on PATH (name one with {flag})"
                )
                continue
            old_text, new_text = _texts(plan, root.via.file) if root.via else (None, None)
            make = _helm_argv if root.kind == "helm" else _kustomize_argv
            for state, base, text in (
                ("before", plan.root.resolve(), old_text),
                ("after", after_base, new_text),
            ):
                work = scratch / "inputs" / f"{number}-{state}"
                work.mkdir(parents=True)
                argv = make(renderer, root, base, text, work, state)
                jobs.append(_Job(root, state, argv, work))
        workers = options.workers or max(2, min(8, os.cpu_count() or 2))
        if jobs:
            with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                for job, completed in zip(
                    jobs,
                    pool.map(
                        lambda j: tools.run(
                            j.argv, cwd=j.cwd, env=env, what=f"rendering {j.root.label}"
                        ),
                        jobs,
                    ),
                    strict=True,
                ):
                    job.result = completed
        for number, root in enumerate(discovery.roots):
            if number in results:
                continue
            mine = [j for j in jobs if j.root is root]
            renderer = renderers[root.kind]
            assert renderer is not None
            results[number] = _judge(root, renderer, mine, plan, env)
    verification.results = [results[n] for n in sorted(results)]
    verification.unseen = _unseen(plan, verification.results)
    return verification


def _judge(
    root: Root, renderer: tools.Renderer, jobs: list[_Job], plan: Plan, env: dict[str, str]
) -> RootResult:
    before_job, _ = sorted(jobs, key=lambda j: j.state != "before")
    before, after = (j.result for j in sorted(jobs, key=lambda j: j.state != "before"))
    assert before is not None and after is not None
    seconds = before.seconds + after.seconds
    result = RootResult(root, "verified", renderer=renderer.name, seconds=seconds)
    if not before.ok:
        error = first_error(before.stderr)
        needs = any(hint in before.stderr for hint in NETWORK_HINTS)
        result.status = "not verified"
        result.reason = (
            f"needs the network to render ({error})"
            if needs
            else f"{renderer.name} fails before the change too: {error}"
        )
        return result
    if not after.ok:
        result.status = "failed"
        result.reason = f"the change breaks the render: {first_error(after.stderr)}"
        return result
    try:
        old_objects, new_objects = parse(before.stdout), parse(after.stdout)
    except RenderedOutputError as error:
        result.status = "not verified"
        result.reason = f"{renderer.name}: {error}"
        return result
    differences = diff(old_objects, new_objects)
    records = [r for r in plan.records if r.file in root.files]
    verdict = classify(differences, old_objects, new_objects, plan.changes, records)
    result.verdict = verdict
    result.stale = stale(new_objects, plan.changes, records)
    if verdict.refused:
        # Charts that generate passwords or certificates render differently every time:
        # what differs between two renders of the same input is not the edit's doing.
        again = tools.run(before_job.argv, cwd=before_job.cwd, env=env,
                          what=f"rendering {root.label}")  # fmt: skip
        if again.ok:
            try:
                noise = {(d.key, d.path) for d in diff(old_objects, parse(again.stdout))}
            except RenderedOutputError:
                noise = set()
            kept = [r for r in verdict.refused if not _is_noise(r.difference, noise)]
            result.ignored = len(verdict.refused) - len(kept)
            verdict.refused = kept
    if verdict.refused:
        result.status = "failed"
        first = verdict.refused[0].describe()
        more = f" (and {len(verdict.refused) - 1} more)" if len(verdict.refused) > 1 else ""
        result.reason = f"rendered change that is not an image update: {first}{more}"
        keys = {r.difference.key for r in verdict.refused}
        result.rendered_diff = rendered_diff(root.label, old_objects, new_objects, keys)
    return result


def _is_noise(difference: Any, noise: set[tuple[Any, Any]]) -> bool:
    path = difference.path
    return any((difference.key, path[:n]) in noise for n in range(len(path) + 1))


def _unseen(plan: Plan, results: Sequence[RootResult]) -> list[str]:
    """Changes the edit claims to make in rendered roots that no render shows."""
    lines = []
    rendered = [r for r in results if r.verdict is not None]
    for change in plan.changes:
        claimed: list[tuple[RootResult, list[Record]]] = []
        for result in rendered:
            records = [
                r for r in plan.records
                if r.file in result.root.files and r.repository == change.repository
            ]  # fmt: skip
            if records:
                claimed.append((result, records))
        if not claimed:
            continue
        if any(i.change == change for result, _ in claimed for i in result.images):
            continue
        record = claimed[0][1][0]
        roots = ", ".join(dict.fromkeys(result.root.label for result, _ in claimed))
        files = {f for result, _ in claimed for f in result.root.files}
        lines.append(
            f"{_shown(change)}: the edit of {record.file}:{record.line} ({record.yaml_path})"
            f" changes no image that {roots} renders{_default_image_hint(plan, files)}"
        )
    return lines


def _default_image_hint(plan: Plan, files: set[str]) -> str:
    """Where the rendered image most likely comes from: an image left empty in these
    files (traefik's null repository and tag), which the chart's templates default."""
    for note in plan.skipped:
        where, _, reason = note.partition(": ")
        if reason.startswith(DEFAULT_IMAGE) and where.rpartition(":")[0] in files:
            return f"; {where} leaves the image to the chart's default: set it there"
    return ""


def _shown(change: Change) -> str:
    return str(change)
