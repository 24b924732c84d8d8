"""Sockets whose every read and write is cut to the current request's overall deadline.

A socket timeout is per read: a server that sends one byte a second never trips it,
in the status line, the headers or the body. So the connections of the registry
session wrap their socket; before each operation the wrapper sets the timeout to
what is left of the deadline of the request under way in this thread (set with
``request_deadline``), and fails at once when nothing is left. Connections are
pooled and shared by threads, so the deadline lives in a thread-local, read at each
operation, not in the connection.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


@contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """Every socket operation of this thread inside the block ends by ``seconds`` from now
    (or by an enclosing block's deadline, if that is sooner). Yields the deadline."""
    previous: float | None = getattr(_local, "expires", None)
    expires = time.monotonic() + seconds
    _local.expires = expires if previous is None else min(previous, expires)
    try:
        yield _local.expires
    finally:
        _local.expires = previous


def remaining() -> float | None:
    expires: float | None = getattr(_local, "expires", None)
    return None if expires is None else expires - time.monotonic()


class _BoundedSocket:
    """Delegates to a socket (plain or TLS), re-arming its timeout before each operation."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._timeout: float | None = sock.gettimeout()

    def _arm(self) -> None:
        left = remaining()
        if left is None:
            self._sock.settimeout(self._timeout)
            return
        if left <= 0:
            raise TimeoutError("the request's deadline has passed")
        self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return int(self._sock.recv_into(buffer, nbytes, flags))

    def recv(self, size: int, flags: int = 0) -> bytes:
        self._arm()
        return bytes(self._sock.recv(size, flags))

    def send(self, data: Any, flags: int = 0) -> int:
        self._arm()
        return int(self._sock.send(data, flags))

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        self._sock.sendall(data, flags)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any) -> Any:
        # http.client reads the status line, headers and body through this file
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        # count the file on the real socket, as socket.makefile does: closing the
        # connection then waits for the response's file to close (HTTP/1.0 answers)
        self._sock._io_refs += 1
        return io.BufferedReader(raw, buffering or io.DEFAULT_BUFFER_SIZE)

    def _decref_socketios(self) -> None:
        self._sock._decref_socketios()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _BoundedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _BoundedSocket(self.sock)


class _BoundedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _BoundedSocket(self.sock)


class _BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection


_POOLS = {"http": _BoundedHTTPPool, "https": _BoundedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An adapter whose connections (direct or through an HTTP proxy) honour the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
