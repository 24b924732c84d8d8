"""Changes of image references read out of git history: see ``walk``."""

from __future__ import annotations

from updater.history.model import ADDED, BOT, CHANGED, MANUAL, REMOVED, Entry, History
from updater.history.walk import Query, Walker, read_history

__all__ = [
    "ADDED",
    "BOT",
    "CHANGED",
    "MANUAL",
    "REMOVED",
    "Entry",
    "History",
    "Query",
    "Walker",
    "read_history",
]
