"""Fault-injection points, for tests only: hold a run at a named point so that a test
can SIGKILL it (or change the world and let it go on) exactly there, without timing.

``UPDATER_TEST_STOP_AT=POINT`` names the point: ``temp:N`` after the Nth temp file is
written, ``ready`` once the journal says the plan is decided, ``renamed:N`` after the
Nth rename, ``commit`` just before ``git commit``, ``cloned`` once a temporary clone
exists. With ``UPDATER_TEST_STOP_FIFO=PATH``
(a FIFO the test made) the run writes the point's name into the FIFO, which blocks until
the test reads it, then opens the FIFO again and reads to its end, which blocks until
the test opens it for writing and closes it: the run goes on from there, unless the
test has killed it. Without a FIFO, the run SIGKILLs itself at the point. Nothing else
reads these variables.
"""

from __future__ import annotations

import os
import signal

STOP_AT_ENV = "UPDATER_TEST_STOP_AT"
STOP_FIFO_ENV = "UPDATER_TEST_STOP_FIFO"


def point(name: str) -> None:
    if os.environ.get(STOP_AT_ENV) != name:
        return
    fifo = os.environ.get(STOP_FIFO_ENV)
    if not fifo:
        os.kill(os.getpid(), signal.SIGKILL)
        return
    with open(fifo, "w", encoding="utf-8") as stream:  # blocks until the test reads
        stream.write(name + "\n")
    with open(fifo, encoding="utf-8") as stream:  # blocks until the test lets us go on
        stream.read()
