from __future__ import annotations

import pytest

from updater import deadline


def test_no_deadline_leaves_waits_alone() -> None:
    deadline.start(None)
    assert deadline.left() is None
    assert deadline.cap(30.0) == 30.0


def test_waits_are_cut_to_what_is_left_and_fail_once_it_is_gone() -> None:
    deadline.start(5.0)
    try:
        assert deadline.cap(30.0) <= 5.0
        assert deadline.cap(1.0) == 1.0
        deadline.start(0.0)
        with pytest.raises(deadline.DeadlineExceeded, match="fetching tags: the run's deadline"):
            deadline.cap(1.0, "fetching tags")
        assert deadline.DeadlineExceeded.exit_code == 5
    finally:
        deadline.start(None)
