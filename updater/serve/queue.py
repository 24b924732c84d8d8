"""The durable event queue: one SQLite file in ``--state-dir``.

An event is committed before its 202 is sent (WAL with ``synchronous=FULL``: the commit
is fsync'd), so an answered event survives SIGKILL and a power cut. The HTTP side hands
events to one writer thread, which commits everything waiting in one transaction (group
commit): one fsync covers a burst, which keeps hundreds of events a second cheap.

Rows are never deleted when handled, only marked, so ``serve --status`` can say what
became of each event; finished rows older than ``RETENTION`` are pruned.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FILE_NAME = "events.sqlite"
RETENTION = 7 * 86400.0

QUEUED = "queued"  # waiting for its debounce window, or a retry
WAITING = "waiting"  # scheduled: the image's min-age has not passed
DELIVERED = "delivered"  # in a delivery that succeeded (committed, or already up to date)
IGNORED = "ignored"  # the reason says why: policy, hold, older tag, no image, superseded
DUPLICATE = "duplicate"  # same event id, or same (repository, tag, digest) in the window
FAILED = "failed"  # its delivery failed on every try
PENDING = (QUEUED, WAITING)
STATES = (QUEUED, WAITING, DELIVERED, IGNORED, DUPLICATE, FAILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event_id TEXT,
    host TEXT,
    repository TEXT NOT NULL,
    tag TEXT,
    digest TEXT,
    received REAL NOT NULL,
    due REAL NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    image TEXT,
    commit_sha TEXT,
    finished REAL
);
CREATE INDEX IF NOT EXISTS events_state ON events (state, due);
CREATE INDEX IF NOT EXISTS events_event_id ON events (source, event_id);
CREATE INDEX IF NOT EXISTS events_content ON events (repository, digest);
"""
_COLUMNS = (
    "seq, source, event_id, host, repository, tag, digest, received, due, state,"
    " attempts, reason, image, commit_sha, finished"
)


class EventLike(Protocol):
    """What the queue keeps of a source's ``PushEvent``."""

    @property
    def source(self) -> str: ...
    @property
    def event_id(self) -> str | None: ...
    @property
    def host(self) -> str | None: ...
    @property
    def repository(self) -> str: ...
    @property
    def tag(self) -> str | None: ...
    @property
    def digest(self) -> str | None: ...


@dataclass(frozen=True)
class Stored:
    """One row: the event as received and what has become of it."""

    seq: int
    source: str
    event_id: str | None
    host: str | None
    repository: str
    tag: str | None
    digest: str | None
    received: float  # wall clock, seconds since the epoch
    due: float  # not handled before this (min-age, retry backoff)
    state: str
    attempts: int = 0
    reason: str | None = None
    image: str | None = None  # the config image it matched
    commit_sha: str | None = None
    finished: float | None = None

    def as_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _COLUMNS.replace(" ", "").split(",")}


@dataclass(frozen=True)
class Admission:
    """What storing one event gave: its row, and the row it duplicates (or None)."""

    seq: int
    duplicate_of: int | None = None


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False
        )
    else:
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def _row(values: Sequence[object]) -> Stored:
    return Stored(*values)  # type: ignore[arg-type]


class Store:
    """The queue of one state directory. Thread-safe: the writer thread commits new
    events, the worker marks them, anyone may read."""

    def __init__(
        self,
        directory: Path,
        *,
        dedupe_window: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self.window = dedupe_window
        self.clock = clock
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()  # one user of self._db at a time
        self.arrived = threading.Condition()  # notified after new events are committed
        self.generation = 0  # commits so far, read and changed under ``arrived``
        self._inbox: queue.Queue[tuple[list[EventLike], Future[list[Admission]]] | None] = (
            queue.Queue()
        )
        self._writer = threading.Thread(target=self._write_loop, name="queue-writer", daemon=True)
        self._writer.start()

    # -- the HTTP side

    def submit(self, events: Sequence[EventLike]) -> Future[list[Admission]]:
        """Queue ``events`` for the writer; the future is done once they are on disk."""
        future: Future[list[Admission]] = Future()
        self._inbox.put((list(events), future))
        return future

    def add(self, events: Sequence[EventLike]) -> list[Admission]:
        return self.submit(events).result(timeout=60)

    def _write_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < 512:  # everything already waiting goes in this commit
                try:
                    more = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[list[EventLike], Future[list[Admission]]]]) -> None:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    results = [[self._insert(event) for event in events] for events, _ in batch]
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except Exception as error:
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
        with self.arrived:
            self.generation += 1
            self.arrived.notify_all()

    def _insert(self, event: EventLike) -> Admission:
        now = self.clock()
        earlier = None
        if event.event_id:
            found = self._db.execute(
                "SELECT seq FROM events WHERE source = ? AND event_id = ? LIMIT 1",
                (event.source, event.event_id),
            ).fetchone()
            earlier = found[0] if found else None
        if earlier is None and event.digest:
            found = self._db.execute(
                "SELECT seq FROM events WHERE repository = ? AND digest = ? AND host IS ?"
                " AND tag IS ? AND received > ? AND state != ? LIMIT 1",
                (
                    event.repository,
                    event.digest,
                    event.host,
                    event.tag,
                    now - self.window,
                    DUPLICATE,
                ),
            ).fetchone()
            earlier = found[0] if found else None
        state, reason, finished = QUEUED, None, None
        if earlier is not None:
            state, reason, finished = DUPLICATE, f"same event as #{earlier}", now
        cursor = self._db.execute(
            "INSERT INTO events (source, event_id, host, repository, tag, digest, received,"
            " due, state, reason, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.source,
                event.event_id,
                event.host,
                event.repository,
                event.tag,
                event.digest,
                now,
                now,
                state,
                reason,
                finished,
            ),
        )
        assert cursor.lastrowid is not None
        return Admission(cursor.lastrowid, earlier)

    # -- the worker side

    def ready_at(self, debounce: float) -> float | None:
        """When the next batch may start: the earliest pending event's due time, its
        debounce window included; None when nothing is pending."""
        with self._lock:
            found = self._db.execute(
                "SELECT MIN(MAX(due, received + ?)) FROM events WHERE state IN (?, ?)",
                (debounce, *PENDING),
            ).fetchone()
        return None if found is None or found[0] is None else float(found[0])

    def take(self, now: float) -> list[Stored]:
        """Every pending event that may be handled at ``now``, oldest first: a batch
        takes the events still in their window too, which only makes them earlier."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM events WHERE state IN (?, ?) AND due <= ? ORDER BY seq",
                (*PENDING, now),
            ).fetchall()
        return [_row(r) for r in rows]

    def finish(
        self,
        seqs: Iterable[int],
        state: str,
        reason: str | None = None,
        *,
        image: str | None = None,
        commit_sha: str | None = None,
    ) -> None:
        self._update(
            "UPDATE events SET state = ?, reason = ?, image = COALESCE(?, image),"
            " commit_sha = ?, finished = ? WHERE seq = ?",
            [(state, reason, image, commit_sha, self.clock(), seq) for seq in seqs],
        )

    def postpone(
        self,
        seqs: Iterable[int],
        due: float,
        state: str,
        reason: str | None,
        *,
        attempts: int | None = None,
    ) -> None:
        """Keep events pending until ``due``: min-age (``waiting``) or a retry."""
        self._update(
            "UPDATE events SET state = ?, due = ?, reason = ?,"
            " attempts = COALESCE(?, attempts) WHERE seq = ?",
            [(state, due, reason, attempts, seq) for seq in seqs],
        )

    def _update(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def prune(self, before: float) -> int:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM events WHERE finished IS NOT NULL AND finished < ?", (before,)
            )
        return cursor.rowcount

    # -- readers (metrics, /readyz)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return read_counts(self._db)

    def depth(self) -> int:
        with self._lock:
            found = self._db.execute(
                "SELECT COUNT(*) FROM events WHERE state IN (?, ?)", PENDING
            ).fetchone()
        return int(found[0])

    def writable(self) -> bool:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        self._inbox.put(None)
        self._writer.join(timeout=30)
        with self._lock:
            self._db.close()


def read_counts(db: sqlite3.Connection) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for state, number in db.execute("SELECT state, COUNT(*) FROM events GROUP BY state"):
        counts[str(state)] = int(number)
    return counts


def read_rows(db: sqlite3.Connection, states: Sequence[str], limit: int) -> list[Stored]:
    marks = ", ".join("?" for _ in states)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM events WHERE state IN ({marks}) ORDER BY seq DESC LIMIT ?",
        (*states, limit),
    ).fetchall()
    return [_row(r) for r in reversed(rows)]
