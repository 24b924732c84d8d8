"""The one worker of a config repo: take a batch, judge it, deliver it, mark it.

One thread, so deliveries to the repo are serialised; a batch is every event that
arrived while the first one's ``debounce`` window ran, so several tags of one image
become the policy's best and several images one commit or PR. Delivery is poll's:
``make_planner`` (holds, downgrades, digests) and ``deliver`` (race-safe push that
plans again on a new tip, PRs updated rather than duplicated). A failed delivery keeps
its events queued with a growing pause, and marks them failed after the last try.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from updater import deadline
from updater.commands.poll import (
    ImageFacts,
    Lookup,
    delivery_paths,
    make_planner,
    poll_trigger,
)
from updater.config import DEFAULT_NAME, PollConfig, load_config
from updater.deliver import DeliveryOptions, DeliveryRequest, DeliveryResult, Mode, deliver
from updater.edit.model import Plan
from updater.errors import UpdaterError
from updater.holds import HELD, Hold
from updater.report import render_diff
from updater.serve.log import Log
from updater.serve.queue import DELIVERED, FAILED, IGNORED, QUEUED, WAITING, Store, Stored
from updater.serve.triage import SUPERSEDED, Candidate, EventFacts, triage

if TYPE_CHECKING:
    from updater.serve.metrics import Metrics  # the serve extra; the settings need none

MAX_PAUSE = 300.0
UP_TO_DATE = ": already up to date"
PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class WorkerSettings:
    repo: str
    mode: Mode
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    debounce: float = 2.0
    retries: int = 5
    backoff: float = 5.0
    timeout: float | None = 300.0  # one delivery's deadline
    host_aliases: dict[str, str] = field(default_factory=dict)


def pause(attempt: int, first: float) -> float:
    """The pause after failed try ``attempt`` (1-based): doubling, capped."""
    return float(min(MAX_PAUSE, first * 2 ** max(0, attempt - 1)))


class Worker:
    def __init__(
        self,
        store: Store,
        config: PollConfig,
        settings: WorkerSettings,
        client: ImageFacts,
        metrics: Metrics,
        log: Log,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.settings = settings
        self.client = client
        self.metrics = metrics
        self.log = log
        self.clock = clock
        self.stop = threading.Event()
        self.busy = threading.Event()  # set while a batch is being handled
        self._pruned = 0.0
        self._pending: list[Stored] = []
        self._between: list[Callable[[], None]] = []  # to run between two batches
        self._between_lock = threading.Lock()

    def run(self) -> None:
        """Handle batches until ``stop`` is set; a batch under way is finished first."""
        while not self.stop.is_set():
            self._run_between()
            with self.store.arrived:
                seen = self.store.generation
            now = self.clock()
            ready = self.store.ready_at(self.settings.debounce)
            if ready is None or ready > now:
                wait = 1.0 if ready is None else min(1.0, max(0.001, ready - now))
                with self.store.arrived:
                    if (
                        self.store.generation == seen
                        and not self.stop.is_set()
                        and not self._between
                    ):
                        self.store.arrived.wait(wait)
                continue
            batch = self.store.take(now)
            if batch:
                self.busy.set()
                try:
                    self.handle(batch)
                finally:
                    self.busy.clear()
            self._prune(now)
        self._run_between()
        self._flush()

    def between(self, action: Callable[[], None]) -> None:
        """Run ``action`` on this thread before the next batch (a reloaded config is
        swapped in this way, never while a batch is being delivered)."""
        with self._between_lock:
            self._between.append(action)
        with self.store.arrived:
            self.store.arrived.notify_all()

    def _run_between(self) -> None:
        with self._between_lock:
            actions, self._between = self._between, []
        for action in actions:
            try:
                action()
            except Exception as error:  # a bug must not stop the worker
                self.log("error", reason=f"internal error: {type(error).__name__}: {error}")

    def _flush(self) -> None:
        """On the way out, deliver what only waits for its debounce window: a replica
        whose state dir goes with its pod (an emptyDir) leaves nothing behind that a
        batch could have carried. Events waiting for min-age or a retry stay stored."""
        batch = self.store.take(self.clock())
        if batch:
            self.log("flush", events=[event.seq for event in batch])
            self.handle(batch)

    def halt(self) -> None:
        self.stop.set()
        with self.store.arrived:
            self.store.arrived.notify_all()

    def _prune(self, now: float) -> None:
        if now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            from updater.serve.queue import RETENTION

            self.store.prune(now - RETENTION)

    # -- one batch

    def handle(self, batch: Sequence[Stored]) -> None:
        self._pending = list(batch)  # what a failure keeps queued
        deadline.start(self.settings.timeout)
        try:
            self._deliver(batch)
        except UpdaterError as error:
            self._failed(self._pending, str(error))
        except Exception as error:  # a bug must not stop the worker, nor lose the events
            self._failed(self._pending, f"internal error: {type(error).__name__}: {error}")
        finally:
            deadline.start(None)

    def _deliver(self, batch: Sequence[Stored]) -> None:
        facts = EventFacts(self.client)
        now = self.clock()
        sorted_out = triage(batch, self.config, self.settings.host_aliases, facts, now)
        for event, due, reason in sorted_out.waiting:
            self.log("event", seq=event.seq, state=WAITING, due=due, reason=reason)
            self.store.postpone([event.seq], due, WAITING, reason)
        for event, label, reason in sorted_out.ignored:
            self._ignore(event, label, reason)
        candidates = [c for c in sorted_out.candidates if c.lookup is not None]
        self._pending = list({e.seq: e for c in candidates for e in c.events}.values())
        if not candidates:
            return
        lookups: list[Lookup] = [c.lookup for c in candidates if c.lookup is not None]
        for candidate in candidates:
            facts.learn(candidate.image.repository, candidate.events)
        make_plan = self._planner(lookups, facts)
        result = deliver(
            DeliveryRequest(
                repo=self.settings.repo,
                mode=self.settings.mode,
                paths=delivery_paths(lookups),
                options=self.settings.options,
                trigger=poll_trigger(lookups, "serve"),
            ),
            make_plan,
        )
        self._delivered(candidates, result)

    def _planner(self, lookups: list[Lookup], facts: ImageFacts) -> Callable[[Path], Plan]:
        def make_plan(root: Path) -> Plan:
            holds = self._holds(root)
            return make_planner(lookups, facts, holds=holds)(root)  # type: ignore[no-any-return]

        return make_plan

    def _holds(self, root: Path) -> tuple[Hold, ...]:
        """The holds of the checkout being planned: a hold pushed after this server
        started (``rollback --hold``) must not be undone by the next event."""
        path = root / DEFAULT_NAME
        if path.is_file():
            return load_config(path, shown=DEFAULT_NAME, need_images=False).holds
        return self.config.holds

    def _ignore(self, event: Stored, label: str, reason: str) -> None:
        self.metrics.ignored.labels(label).inc()
        self.log("event", seq=event.seq, state=IGNORED, reason=reason, label=label)
        self.store.finish([event.seq], IGNORED, reason)

    def _delivered(self, candidates: list[Candidate], result: DeliveryResult) -> None:
        done = self.clock()
        changed = result.plan.changed
        sha = result.commit_sha if result.pushed or result.mode == "commit" else None
        touched = {record.repository for record in result.plan.records}
        outcome = self._outcomes(candidates, touched)
        moved = [seq for seq, (state, _, _) in outcome.items() if state == DELIVERED]
        events = {e.seq: e for c in candidates for e in c.events}
        # The store is written last: what it says (and serve --status) is then already
        # in the metrics and the log.
        self.metrics.deliveries.labels("changed" if changed else "up-to-date").inc()
        self.log(
            "delivery",
            result="changed" if changed else "up-to-date",
            mode=result.mode,
            summary=result.describe() or None,
            commit=sha,
            pull_request=result.pull_request_url,
            attempts=result.attempts,
            events=moved,
            images=[
                {"name": c.lookup.image.name, "tag": c.lookup.choice.tag, "digest": c.lookup.digest}
                for c in candidates
                if c.lookup is not None and c.lookup.choice is not None
            ],
            files=[edit.path for edit in result.plan.edits],
            diff=render_diff(result.plan) if result.mode == "dry-run" and changed else None,
            latency=max((done - events[s].received for s in moved), default=None),
        )
        for seq, (state, label, reason) in sorted(outcome.items()):
            event = events[seq]
            if state == DELIVERED:
                mine = sha if not reason.endswith(UP_TO_DATE) else None
                self.metrics.latency.observe(max(0.0, done - event.received))
                self.log("event", seq=seq, state=DELIVERED, reason=reason, commit=mine)
                self.store.finish([seq], DELIVERED, reason, image=label, commit_sha=mine)
            else:
                self._ignore(event, label, reason)

    @staticmethod
    def _outcomes(
        candidates: list[Candidate], touched: set[str]
    ) -> dict[int, tuple[str, str, str]]:
        """Per event: (state, image name or ignore label, reason). An event matching
        two image entries (one repository, different paths) counts as delivered when
        either moved."""
        out: dict[int, tuple[str, str, str]] = {}
        for candidate in candidates:
            lookup = candidate.lookup
            assert lookup is not None and lookup.choice is not None
            chosen = lookup.choice.tag
            name = candidate.image.name
            verdict: tuple[str, str, str]
            if lookup.error is not None:
                verdict = (IGNORED, "nowhere", str(lookup.error))
            elif lookup.decisions and not any(d.move for *_, d in lookup.decisions):
                first = lookup.decisions[0][3]
                label = (
                    HELD if any(d.verdict == HELD for *_, d in lookup.decisions) else first.verdict
                )
                reasons = "; ".join(f"{f}:{n}: {d.reason}" for f, n, _, d in lookup.decisions)
                verdict = (IGNORED, label, f"{name}: {reasons}")
            else:
                what = f"{name}:{chosen}" + (f"@{lookup.digest}" if lookup.digest else "")
                here = candidate.image.repository in touched
                verdict = (DELIVERED, name, what if here else f"{what}{UP_TO_DATE}")
            for event in candidate.events:
                mine = verdict
                if event.tag != chosen:
                    mine = (
                        IGNORED,
                        SUPERSEDED,
                        f"{name}: superseded by {chosen}, the policy's best",
                    )
                if out.get(event.seq, (None,))[0] != DELIVERED:
                    out[event.seq] = mine
        return out

    def _failed(self, batch: Sequence[Stored], reason: str) -> None:
        now = self.clock()
        failed = [e for e in batch if e.attempts + 1 >= self.settings.retries]
        retried = [e for e in batch if e.attempts + 1 < self.settings.retries]
        result = "failed" if failed and not retried else "retried"
        self.metrics.deliveries.labels(result).inc()
        self.log(
            "delivery",
            result=result,
            reason=reason,
            retried=[e.seq for e in retried],
            failed=[e.seq for e in failed],
        )
        for event in failed:
            self.store.finish([event.seq], FAILED, f"after {event.attempts + 1} tries: {reason}")
        for event in retried:
            tries = event.attempts + 1
            due = now + pause(tries, self.settings.backoff)
            self.store.postpone(
                [event.seq], due, QUEUED, f"try {tries} failed: {reason}", attempts=tries
            )
