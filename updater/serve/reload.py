"""SIGHUP: read the config again and, when it is good, swap it in between deliveries.

The file is read and checked as at start (every key, the secrets it names from the
environment, the delivery options). A bad one is one log line naming FILE:LINE, and
the server goes on with the config it has. A good one is handed to the worker, which
takes it between two batches, never during one: the HTTP side's secrets and limits,
the dedupe window, the worker's images, policies, holds, registries and delivery
settings all change at that one moment, so no request or delivery sees half of each.

The command line still wins and cannot be changed by a reload: --listen, --state-dir,
--repo, --config, and a MODE, --debounce or delivery flag given there.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from updater.config import PollConfig
from updater.errors import UpdaterError
from updater.registry import RegistryClient
from updater.serve.log import Log
from updater.serve.queue import Store
from updater.serve.sources import HookSettings
from updater.serve.worker import Worker, WorkerSettings

if TYPE_CHECKING:
    from updater.serve.metrics import Metrics  # the serve extra; ``Loaded`` needs none

APPLIED = "applied"
ACCEPTED = "accepted"
FAILED = "failed"


@dataclass(frozen=True)
class Loaded:
    """Everything the config decides, checked as a whole."""

    config: PollConfig
    worker: WorkerSettings
    hooks: HookSettings
    dedupe_window: float


class Live:
    """The HTTP side's view of the settings in force (read once per request)."""

    def __init__(self, hooks: HookSettings) -> None:
        self.hooks = hooks


class Reloader:
    """Waits for a SIGHUP and reloads on its own thread, so the event loop never reads
    a file. ``request`` is what the signal handler calls: one write to a pipe, which
    takes no lock (a handler may interrupt any code of the main thread, itself too)."""

    def __init__(
        self,
        load: Callable[[], Loaded],
        shown: str,
        worker: Worker,
        store: Store,
        live: Live,
        metrics: Metrics,
        log: Log,
    ) -> None:
        self.load = load
        self.shown = shown
        self.worker = worker
        self.store = store
        self.live = live
        self.metrics = metrics
        self.log = log
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="reload", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def request(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a reload is pending anyway
            os.write(self._write, b"h")

    def halt(self) -> None:
        self._stop = True
        self.request()
        if self.thread.is_alive():
            self.thread.join(timeout=60)
        os.close(self._write)
        os.close(self._read)

    def _run(self) -> None:
        while True:
            os.read(self._read, 4096)  # every signal sent meanwhile: one reload
            if self._stop:
                return
            self.reload()

    def reload(self) -> None:
        try:
            loaded = self.load()
        except UpdaterError as error:
            reason = str(error)
            # a message about the file names it already (FILE:LINE: ...); one about what
            # it refers to (an unset secret variable, a delivery option) is prefixed
            if not reason.startswith(self.shown):
                reason = f"{self.shown}: {reason}"
            self.metrics.reloads.labels(FAILED).inc()
            self.metrics.reload_ok.set(0)
            self.log("reload", result=FAILED, reason=reason, kept="the config in force")
            return
        except Exception as error:  # a bug must not stop the reloads nor the server
            self.metrics.reloads.labels(FAILED).inc()
            self.metrics.reload_ok.set(0)
            reason = f"{self.shown}: internal error: {type(error).__name__}: {error}"
            self.log("reload", result=FAILED, reason=reason, kept="the config in force")
            return
        client = RegistryClient(loaded.config.registries)
        self.log("reload", result=ACCEPTED, file=self.shown, busy=self.worker.busy.is_set())
        self.worker.between(lambda: self._apply(loaded, client))

    def _apply(self, loaded: Loaded, client: RegistryClient) -> None:
        """On the worker's thread, between two batches."""
        old = self.worker.client
        self.worker.config = loaded.config
        self.worker.settings = loaded.worker
        self.worker.client = client
        self.store.window = loaded.dedupe_window
        self.live.hooks = loaded.hooks
        close = getattr(old, "close", None)
        if close is not None:
            close()
        self.metrics.reloads.labels(APPLIED).inc()
        self.metrics.reload_ok.set(1)
        self.log(
            "reload",
            result=APPLIED,
            file=self.shown,
            mode=loaded.worker.mode,
            images=[image.name for image in loaded.config.images],
        )
