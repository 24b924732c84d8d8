"""The Prometheus metrics of ``updater serve``, in a registry of their own (two servers
in one process, as in the tests, never share counters).

Labels are bounded: a source name outside the known ones is counted as ``unknown``,
and reasons are a handful of fixed words (the log line carries the full text).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, depth: Callable[[], float], failed: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "updater_webhook_events_received", "Webhook requests received.", ["source"],
            registry=r,
        )  # fmt: skip
        self.accepted = Counter(
            "updater_webhook_events_accepted", "Push events stored in the queue.", ["source"],
            registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "updater_webhook_events_rejected",
            "Webhook requests refused (bad-request, unauthorized, unknown-source, timeout,"
            " too-large).",
            ["source", "reason"],
            registry=r,
        )
        self.ignored = Counter(
            "updater_webhook_events_ignored",
            "Stored events that moved nothing, by reason (duplicate, unmatched, no-tag, policy,"
            " held, newer, same-rank, superseded, nowhere).",
            ["reason"],
            registry=r,
        )
        self.deliveries = Counter(
            "updater_deliveries",
            "Deliveries by result (changed, up-to-date, retried, failed).",
            ["result"],
            registry=r,
        )
        self.latency = Histogram(
            "updater_event_to_delivery_seconds",
            "From an event's arrival to the end of the delivery that carried it.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        queue_depth = Gauge(
            "updater_queue_depth", "Events waiting to be handled (queued or min-age).",
            registry=r,
        )  # fmt: skip
        queue_depth.set_function(depth)
        failed_now = Gauge(
            "updater_events_failed", "Events whose delivery failed on every try (kept).",
            registry=r,
        )  # fmt: skip
        failed_now.set_function(failed)
        self.reloads = Counter(
            "updater_config_reloads",
            "Config reloads asked by SIGHUP, by result (applied, failed).",
            ["result"],
            registry=r,
        )
        for result in ("applied", "failed"):
            self.reloads.labels(result)  # both series from the start, at 0
        self.reload_ok = Gauge(
            "updater_config_last_reload_successful",
            "1 while the config in force is the file's latest (the start or the last"
            " reload took it), 0 after a reload refused the file.",
            registry=r,
        )
        self.reload_ok.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
