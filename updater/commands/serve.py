"""``serve``: config -> queue + worker thread + HTTP server, in the foreground, until
SIGTERM/SIGINT; SIGHUP reads the config again (``updater.serve.reload``).

The HTTP stack (Starlette on uvicorn) and prometheus-client are the ``serve`` extra,
imported only here. On a signal the server stops taking requests, finishes the ones
under way (each already stored, or refused), lets the worker finish the batch it is
delivering, closes the queue and exits 0. Everything accepted and not yet delivered
stays in the state dir for the next start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from updater.commands.poll import PollRequest, read_config
from updater.config import DEFAULT_NAME, confirmed_delivery
from updater.deliver import DeliveryOptions, Mode, as_mode
from updater.errors import UpdaterError, UsageError
from updater.webhooks import WebhookSettings

if TYPE_CHECKING:
    from updater.serve.app import Readiness
    from updater.serve.reload import Loaded

_LISTEN_RE = re.compile(
    r"^(?:\[(?P<v6>[0-9a-fA-F:]+)\]|(?P<host>[A-Za-z0-9.-]*)):(?P<port>\d{1,5})$"
)
STATE_ENV = "UPDATER_STATE_DIR"


@dataclass(frozen=True)
class ServeRequest:
    repo: str
    config: str | None
    listen: str
    state_dir: str | None
    mode: str | None  # the MODE flag; None: the config's delivery.mode, else dry-run
    delivery: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = 300.0  # one delivery's deadline
    debounce: float | None = None  # --debounce: overrides webhooks.debounce


def parse_listen(text: str) -> tuple[str, int]:
    m = _LISTEN_RE.match(text.strip())
    port = int(m.group("port")) if m else -1
    if m is None or not 0 <= port <= 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT (like 0.0.0.0:8080)")
    return m.group("v6") or m.group("host") or "0.0.0.0", port


def default_state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    return Path(base) / "gitops-updater" / "serve"


def config_shown(request: ServeRequest) -> str:
    """The config file as messages name it (as ``read_config`` names it)."""
    if request.config is not None:
        return request.config
    return str(Path(request.repo) / DEFAULT_NAME)


def settle(request: ServeRequest) -> Loaded:
    """Read and check everything the config decides, needing nothing of the serve
    extra: at start (before the web stack is imported), and again on SIGHUP."""
    from updater.serve.reload import Loaded
    from updater.serve.sources import HookSettings, SourceSecrets
    from updater.serve.worker import WorkerSettings

    config = read_config(PollRequest(repo=request.repo, config=request.config, mode=None))
    hooks = config.webhooks or WebhookSettings()
    default, per_source = hooks.secrets()
    mode = as_mode(request.mode or config.mode or "dry-run")
    # Checked here: a bad option stops the start (or the reload), not a delivery.
    options = DeliveryOptions.from_mapping(
        {**confirmed_delivery(config, request.delivery), **request.delivery}
    )
    debounce = hooks.debounce.total_seconds() if request.debounce is None else request.debounce
    return Loaded(
        config=config,
        worker=WorkerSettings(
            repo=request.repo,
            mode=mode,
            options=options,
            debounce=debounce,
            retries=hooks.retries,
            backoff=hooks.retry_backoff.total_seconds(),
            timeout=request.timeout,
            host_aliases=dict(hooks.host_aliases),
        ),
        hooks=HookSettings(
            secrets=SourceSecrets(default=default, per_source=per_source),
            max_body=hooks.max_body,
            body_seconds=hooks.body_timeout.total_seconds(),
        ),
        dedupe_window=hooks.dedupe_window.total_seconds(),
    )


def run(request: ServeRequest) -> int:
    host, port = parse_listen(request.listen)
    loaded = settle(request)
    state_dir = Path(request.state_dir) if request.state_dir else default_state_dir()

    try:
        import uvicorn

        from updater.serve.app import Readiness, build_app
        from updater.serve.metrics import Metrics
    except ModuleNotFoundError as error:
        raise UsageError(
            f"updater serve needs the serve extra ({error.name} is missing):"
            " pip install 'gitops-updater[serve]'"
        ) from None

    from updater.registry import RegistryClient
    from updater.serve.log import Log
    from updater.serve.queue import FAILED, Store
    from updater.serve.reload import Live, Reloader
    from updater.serve.worker import Worker

    config, mode, options = loaded.config, loaded.worker.mode, loaded.worker.options
    try:
        store = Store(state_dir, dedupe_window=loaded.dedupe_window)
    except Exception as error:  # OSError, sqlite3.Error
        raise UsageError(f"--state-dir {state_dir}: cannot open the queue ({error})") from None
    log = Log()
    metrics = Metrics(depth=store.depth, failed=lambda: store.counts()[FAILED])
    client = RegistryClient(config.registries)
    worker = Worker(store, config, loaded.worker, client, metrics, log)
    live = Live(loaded.hooks)
    reloader = Reloader(
        lambda: settle(request), config_shown(request), worker, store, live, metrics, log
    )
    readiness = Readiness()
    worker_thread = threading.Thread(target=worker.run, name="worker", daemon=True)
    app = build_app(
        store,
        lambda: live.hooks,
        metrics,
        log,
        readiness,
        worker_thread.is_alive,
    )
    server = _Server(
        reloader.request,
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=30,
            # bounded: beyond this many connections at once, uvicorn answers 503
            limit_concurrency=1024,
        ),
    )
    checker = threading.Thread(
        target=_check_ready, args=(readiness, request.repo, mode, options, log), daemon=True
    )
    counts = store.counts()
    log(
        "start",
        listen=f"{host}:{port}",
        mode=mode,
        state_dir=str(state_dir),
        debounce=loaded.worker.debounce,
        images=[image.name for image in config.images],
        pending=counts["queued"] + counts["waiting"],
    )
    worker_thread.start()
    checker.start()
    reloader.start()
    try:
        server.run()
    finally:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
            # stopping: a late SIGHUP neither reloads nor (by default) kills the process
            # while the last delivery finishes
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        reloader.halt()
        worker.halt()
        worker_thread.join()
        store.close()
        close = getattr(worker.client, "close", None)  # the one in force (a reload swaps it)
        if close is not None:
            close()
        log("stop", signal=server.signal_name)
    if server.failed_to_start:
        raise UsageError(f"--listen {request.listen}: cannot listen there")
    return 0


def _check_ready(
    readiness: Readiness, repo: str, mode: Mode, options: DeliveryOptions, log: Any
) -> None:
    from updater.serve.reach import check_repo

    try:
        check_repo(repo, mode, options)
    except UpdaterError as error:
        readiness.problem = str(error)
        log("not-ready", reason=str(error))
        return
    readiness.problem = ""
    log("ready")


class _Server:
    """uvicorn's server, stopping on SIGTERM/SIGINT without re-raising the signal
    afterwards (uvicorn's own handling ends the process with the signal; a server
    asked to stop that stops cleanly exits 0), and asking for a reload on SIGHUP."""

    def __init__(self, on_hangup: Callable[[], None], config: Any) -> None:
        import uvicorn

        owner = self

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return
                handlers = {
                    sig: signal.signal(sig, owner.on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)
                }
                hangup = getattr(signal, "SIGHUP", None)  # none on Windows
                if hangup is not None:
                    handlers[hangup] = signal.signal(hangup, lambda *_: on_hangup())
                try:
                    yield
                finally:
                    for sig, handler in handlers.items():
                        signal.signal(sig, handler)

        self.server = Server(config)
        self.signal_name: str | None = None
        self.failed_to_start = False

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        if self.server.should_exit:
            self.server.force_exit = True  # a second signal: stop waiting for requests
        self.server.should_exit = True

    def run(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits 1 when it cannot bind
            self.failed_to_start = True
        if not self.server.started and self.signal_name is None:
            self.failed_to_start = True
