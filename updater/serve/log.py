"""One JSON line per event and per delivery, on stdout, for log collectors.

Everything from a request (repository names, tags, reasons) is JSON-escaped (control
characters and non-ASCII included), so a crafted name cannot forge a line; URL
user-info is removed from every line.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any, TextIO

from updater.remote import redact_userinfo


class Log:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, kind: str, **fields: Any) -> None:
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        record["kind"] = kind
        record.update({k: v for k, v in fields.items() if v is not None})
        line = redact_userinfo(json.dumps(record, ensure_ascii=True, default=str))
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
