"""``promote``: set what an environment deploys to what the one it is promoted from
deploys, image by image, skipping held, not yet soaked and older versions.

Images are matched across environments by normalised repository; a kustomize entry
by the ``name`` it replaces, so ``name: api`` with ``newName: registry.dev/acme/api``
in dev meets ``name: api`` with ``newName: mirror.prod/acme/api`` in prod. Each target
reference gets the source's version in its own spelling: a pinned digest is set, a
tag-only reference gets the tag only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from updater.commands.digests import plan_locating_digests
from updater.commands.hold import repository_of
from updater.config import DEFAULT_NAME, PollConfig, confirmed_delivery, load_config
from updater.edit.model import Plan, Reference
from updater.edit.planner import plan
from updater.environments import Environment, expand
from updater.errors import NoMatchError, UsageError
from updater.history import Entry
from updater.holds import Hold, holding
from updater.policy.semver import try_parse_version
from updater.reference import Change, familiar_name, format_reference, normalise_name

# What happened to each image, for programs reading --json.
PROMOTED = "promoted"
UP_TO_DATE = "up-to-date"
HELD = "held"
NOT_SOAKED = "not-soaked"
DOWNGRADE = "downgrade"
AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class PromoteRequest:
    repo: str
    to: str  # an environment, or with source_path a path
    source_path: str | None = None  # --from PATH (ad hoc)
    config: str | None = None
    images: tuple[str, ...] = ()
    all_images: bool = False
    mode: str | None = None
    allow_downgrade: bool = False
    as_json: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)


@dataclass
class Promotion:
    image: str  # the matching key, familiar
    source: str  # the source's version (TAG, @DIGEST or TAG@DIGEST)
    targets: list[str]  # the target's versions now
    verdict: str
    reason: str
    source_file: str
    soaked: str | None = None  # how long the source has run this version
    source_commit: str | None = None  # the commit that set the source to it

    def as_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "from": self.source,
            "to": self.targets,
            "decision": self.verdict,
            "reason": self.reason,
            "source_file": self.source_file,
            "soaked": self.soaked,
            "source_commit": self.source_commit,
        }


def _version(tag: str | None, digest: str | None) -> str:
    return format_reference("", tag, digest).lstrip(":")


def _kustomize_names(root: Path, references: Sequence[Reference]) -> dict[tuple[str, int], str]:
    """(file, line) -> the ``name`` a kustomize images entry replaces, for renamed ones."""
    from ruamel.yaml import YAML

    out: dict[tuple[str, int], str] = {}
    for file in sorted({r.file for r in references if r.kind == "kustomize"}):
        try:
            data = YAML(typ="safe", pure=True).load((root / file).read_text(encoding="utf-8"))
        except Exception:  # the scan read it; a failure here only loses the rename
            continue
        for ref in references:
            match = re.fullmatch(r"images\[(\d+)\]", ref.yaml_path)
            if ref.file != file or ref.kind != "kustomize" or match is None:
                continue
            try:
                entry = data["images"][int(match[1])]
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(entry, dict) and entry.get("newName") and entry.get("name"):
                out[(ref.file, ref.line)] = normalise_name(str(entry["name"]))
    return out


def _keyed(root: Path, paths: tuple[str, ...]) -> dict[str, list[Reference]]:
    from updater.edit.walk import scan_repo

    if not paths:
        return {}
    references = [r for r in scan_repo(root, paths, workers=1).references if r.repository]
    renamed = _kustomize_names(root, references)
    out: dict[str, list[Reference]] = {}
    for ref in references:
        key = renamed.get((ref.file, ref.line)) or ref.repository
        assert key is not None
        out.setdefault(key, []).append(ref)
    return out


def _older(source: str | None, target: str | None) -> bool:
    if source is None or target is None:
        return False
    a, b = try_parse_version(source), try_parse_version(target)
    return a is not None and b is not None and a.compare(b) < 0


def arrival(
    root: Path, key: str, paths: tuple[str, ...], version: str
) -> tuple[Entry | None, str | None]:
    """When ``key`` got ``version`` in ``paths`` (the source's files): the newest commit
    that set it, or, for a commit merged from another branch (a pull request), the merge
    that brought it onto the branch; and where a shallow clone's history ended if it was
    not found."""
    from dataclasses import replace

    from updater.history import Query, Walker
    from updater.history.repo import HistoryRepo

    repo = HistoryRepo.open(root)
    walker = Walker(repo, Query(key, paths, lazy=True))
    for _, entries in walker.changes():
        for entry in entries:
            if entry.new == version:
                merge = repo.landed(entry.commit)
                return (
                    entry if merge is None else replace(entry, commit=merge[0], date=merge[1])
                ), None
    return None, walker.truncated_at


def _soaked(
    root: Path,
    key: str,
    version: str,
    source_paths: tuple[str, ...],
    env: Environment,
    source: Environment,
) -> tuple[bool, Entry | None, str]:
    """(soaked, the commit the version arrived in, why not): the time in the source is
    the committer date of the commit that brought the version onto the source's branch."""
    from updater.errors import UpdaterError

    try:
        came, ended = arrival(root, key, source_paths, version)
    except UpdaterError as error:
        if env.soak is None:
            return True, None, ""  # no soak to judge: history only adds "soaked for"
        return False, None, f"soak {_duration(env.soak.total_seconds())}: {error}"
    if env.soak is None:
        return True, came, ""
    need = _duration(env.soak.total_seconds())
    if came is None:
        end = f" (history ends at {ended[:12]}, a shallow clone)" if ended else ""
        return False, None, f"soak {need}: no commit set {source.name} to {version}{end}"
    ran = _age(came)
    if ran < env.soak.total_seconds():
        return (
            False,
            came,
            f"{source.name} has run {version} for {_duration(ran)} (since {came.commit[:12]}),"
            f" soak is {need}",
        )
    return True, came, ""


def _age(entry: Entry) -> float:
    try:
        then = datetime.fromisoformat(entry.date)
    except ValueError:
        return 0.0
    return max(0.0, (datetime.now(timezone.utc) - then).total_seconds())


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"


@dataclass
class Promoter:
    """Plans one promotion on a checkout; keeps what it decided for the report."""

    source: Environment
    target: Environment
    config: PollConfig | None
    wanted: tuple[str, ...]  # repositories asked for (empty: all)
    allow_downgrade: bool
    promotions: list[Promotion] = field(default_factory=list)
    holds: tuple[Hold, ...] = ()
    root: Path = Path()

    def _holds(self, root: Path) -> tuple[Hold, ...]:
        """The holds of the checkout being planned (a clone may be newer than --config)."""
        path = root / DEFAULT_NAME
        if path.is_file():
            return load_config(path, shown=DEFAULT_NAME, need_images=False).holds
        return self.config.holds if self.config is not None else ()

    def __call__(self, root: Path) -> Plan:
        from updater.commands.set_image import resolve_from_registry

        self.promotions = []
        self.root = root
        source_paths = expand(root, self.source.paths)
        target_paths = expand(root, self.target.paths)
        if not source_paths:
            raise NoMatchError(
                f"environment {self.source.name}: nothing at {', '.join(self.source.paths)}"
            )
        source, target = _keyed(root, source_paths), _keyed(root, target_paths)
        self.holds = self._holds(root)
        changes: list[Change] = []
        for key in sorted(set(source) & set(target)):
            if self.wanted and key not in self.wanted:
                continue
            changes += self._promote(key, source[key], target[key])
        if not changes:
            return Plan(root=root, changes=())
        return plan_locating_digests(
            lambda resolve: plan(root, changes, resolve_digest=resolve), resolve_from_registry
        )

    def _promote(
        self, key: str, sources: list[Reference], targets: list[Reference]
    ) -> list[Change]:
        """The changes that promote one image: one per spelling and form (pinned or not),
        each restricted to the target files that hold that form."""
        versions = sorted({_version(r.tag, r.digest) for r in sources})
        now = sorted({_version(r.tag, r.digest) for r in targets})
        first = sources[0]
        note = Promotion(familiar_name(key), versions[0], now, PROMOTED, "", first.file)
        self.promotions.append(note)
        if len(versions) > 1:
            several = ", ".join(versions)
            note.verdict = AMBIGUOUS
            note.reason = f"{self.source.name} deploys several versions ({several}); left alone"
            return []
        tag, digest = first.tag, first.digest
        # in the target's own spelling: a tag-only reference at the tag is up to date
        moving = [
            r
            for r in targets
            if (r.tag, r.digest) != (tag, digest)
            and not (r.tag == tag and tag is not None and None in (r.digest, digest))
        ]
        if not moving:
            note.verdict, note.reason = UP_TO_DATE, f"already at {versions[0]}"
            return []
        for ref in moving:
            for hold in holding(self.holds, ref.repository or "", ref.file) + holding(
                self.holds, key, ref.file
            ):
                if not hold.satisfied_by(tag):
                    note.verdict = HELD
                    note.reason = f"{ref.file}: {hold.describe()} (hold at line {hold.line})"
                    return []
        from updater.history.versions import version_text

        soaked, came, why = _soaked(
            self.root,
            key,
            version_text(tag, digest),
            # the files the source holds the version in: a walk of a few files, not of
            # every directory the environment's globs expand to
            tuple(dict.fromkeys(r.file for r in sources)),
            self.target,
            self.source,
        )
        if came is not None:
            note.soaked = _duration(_age(came))
            note.source_commit = came.commit
        if not soaked:
            note.verdict, note.reason = NOT_SOAKED, why
            return []
        older = [r for r in moving if _older(tag, r.tag)]
        if older and not self.allow_downgrade:
            note.verdict = DOWNGRADE
            note.reason = (
                f"{self.source.name}'s {versions[0]} is older than {older[0].tag} in"
                f" {older[0].file}; left alone (--allow-downgrade moves it)"
            )
            return []
        note.reason = f"{', '.join(now)} -> {versions[0]}"
        # the target's spelling: a pinned digest is set, a tag-only reference keeps no digest
        by_form: dict[tuple[str, bool], list[str]] = {}
        for ref in moving:
            pinned = ref.digest is not None or tag is None
            by_form.setdefault((ref.repository or key, pinned), []).append(ref.file)
        changes = []
        for (repository, pinned), files in by_form.items():
            spelled = next(r.name for r in moving if r.repository == repository)
            change = Change(
                repository=repository,
                spelled=spelled,
                tag=tag,
                digest=digest if pinned else None,
                paths=tuple(dict.fromkeys(files)),
            )
            changes.append(change)
        return changes


def _environments(request: PromoteRequest, config: PollConfig | None) -> tuple[Any, Any]:
    if request.source_path is not None:
        for shown, path in (("--from", request.source_path), ("--to", request.to)):
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise UsageError(f"{shown} {path!r}: must be relative, inside the repo")
        slug = re.sub(r"[^a-z0-9.]+", "-", request.to.lower()).strip("-.") or "root"
        return (
            Environment(name=request.source_path.strip("/") or ".", paths=(request.source_path,)),
            Environment(name=slug, paths=(request.to.strip("/") or ".",)),
        )
    if config is None or not config.environments:
        raise UsageError(
            f"--to {request.to}: {DEFAULT_NAME} declares no environments"
            " (declare them, or give --from PATH --to PATH)"
        )
    by_name = {env.name: env for env in config.environments}
    target = by_name.get(request.to)
    if target is None:
        known = ", ".join(by_name)
        raise UsageError(f"--to {request.to!r}: unknown environment (known: {known})")
    if target.source is None:
        raise UsageError(
            f"environment {target.name} has no 'from': nothing to promote it from",
            file=config.path,
            line=target.line,
        )
    return by_name[target.source], target


def _read_config(request: PromoteRequest) -> PollConfig | None:
    from updater.remote import is_remote_url

    if request.config is not None:
        return load_config(Path(request.config), need_images=False)
    if is_remote_url(request.repo):
        if request.source_path is not None:
            return None
        raise UsageError(f"with a URL --repo, give --config FILE (the {DEFAULT_NAME} to use)")
    path = Path(request.repo) / DEFAULT_NAME
    if request.source_path is not None and not path.exists():
        return None
    return load_config(path, shown=str(path), need_images=False)


def _mode(request: PromoteRequest, target: Environment, config: PollConfig | None) -> str:
    if request.mode is None:
        return "dry-run"
    if request.mode != "deliver":
        return request.mode
    mode = target.mode or (config.mode if config is not None else None)
    if mode is None:
        raise UsageError(
            f"--deliver uses delivery.mode, which neither environment {target.name} nor"
            f" {DEFAULT_NAME} sets"
        )
    return mode


def proposal_text(promoter: Promoter) -> Any:
    from updater.report import code, pull_request_body

    def text(plan: Plan, base: str) -> tuple[str, str]:
        done = [p for p in promoter.promotions if p.verdict == PROMOTED]
        title = f"Promote to {promoter.target.name}: " + ", ".join(
            f"{p.image} {p.source}" for p in done
        )
        rows = [
            f"Promotes {code(promoter.source.name)} to {code(promoter.target.name)}.",
            "",
            "| Image | From → to | Soaked for | Source |",
            "| --- | --- | --- | --- |",
        ]
        for p in done:
            moved = f"{', '.join(p.targets)} → {p.source}"
            where = (
                f"{p.source_file} @ {p.source_commit[:12]}" if p.source_commit else p.source_file
            )
            rows.append(f"| {code(p.image)} | {code(moved)} | {p.soaked or '—'} | {code(where)} |")
        skipped = [p for p in promoter.promotions if p.verdict not in (PROMOTED, UP_TO_DATE)]
        if skipped:
            rows += ["", "Not promoted:", ""]
            rows += [f"- {code(p.image)}: {p.verdict}: {code(p.reason)}" for p in skipped]
        images = tuple(sorted({c.repository for c in plan.changes}))
        body = "\n".join(rows) + "\n\n" + pull_request_body(plan, base=base, images=images)
        from updater.report import one_line

        shown = one_line(title)
        return (shown if len(shown) <= 200 else shown[:199] + "…"), body

    return text


def run(request: PromoteRequest) -> int:
    from updater.deliver import DeliveryOptions, DeliveryRequest, as_mode, deliver
    from updater.output import show_result
    from updater.report import plan_json
    from updater.trailers import trigger

    if not request.images and not request.all_images:
        raise UsageError("give --image NAME (repeatable) or --all")
    if request.images and request.all_images:
        raise UsageError("--image and --all: give one")
    wanted = tuple(repository_of(name, "--image") for name in request.images)
    config = _read_config(request)
    source, target = _environments(request, config)
    mode = as_mode(_mode(request, target, config))
    promoter = Promoter(source, target, config, wanted, request.allow_downgrade)
    options = confirmed_delivery(config, request.delivery) if config is not None else {}
    options = {**options, **target.delivery, **request.delivery}
    if "sources" in options:  # an environment's own delivery: is not the file's
        options["sources"] = {
            k: v for k, v in options["sources"].items() if k not in target.delivery
        }
    options["proposal_head"] = f"updater/promote/{target.name}"
    options["proposal_text"] = proposal_text(promoter)
    options.setdefault(
        "message", f"Promote {source.name} to {target.name}: {{summary}}\n\n{{details}}"
    )
    why = trigger("promote", ("from", source.name), ("to", target.name))
    checked = DeliveryOptions.from_mapping(options)
    result = deliver(
        DeliveryRequest(repo=request.repo, mode=mode, options=checked, trigger=why), promoter
    )
    if request.as_json:
        report = {
            "environment": target.name,
            "from": source.name,
            "promotions": [p.as_json() for p in promoter.promotions],
            "plan": plan_json(result.plan),
            "delivery": result.as_json(),
        }
        click.echo(json.dumps(report, indent=2))
        return 0
    for p in promoter.promotions:
        if p.verdict == PROMOTED:
            soaked = f", soaked {p.soaked}" if p.soaked else ""
            click.echo(f"{p.image}: {p.reason} (from {source.name}{soaked})", err=True)
        else:
            click.echo(f"{p.image}: {p.verdict}: {p.reason}", err=True)
    show_result(result, nothing="nothing to promote")
    return 0
