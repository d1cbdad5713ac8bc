"""Busy clocks: what a worker writes and the supervisor reads."""

from __future__ import annotations

import time

from modelyard.container.serving_watchdog import BusyClocks, hard_grace_s


def test_a_worker_slot_is_seen_by_the_supervisor() -> None:
    clocks = BusyClocks.create(2)
    worker_view = BusyClocks(clocks.fd, 2)
    try:
        assert clocks.busy_for_s(1) == 0.0
        worker_view.slot(2).enter()
        assert clocks.busy_for_s(1) == 0.0
        assert 0.0 <= clocks.busy_for_s(2) < 5.0
        assert clocks.busy_for_s(2, time.monotonic() + 100) > 99.0
        worker_view.slot(2).leave()
        assert clocks.busy_for_s(2) == 0.0
        worker_view.slot(1).enter()
        clocks.reset(1)
        assert clocks.busy_for_s(1) == 0.0
    finally:
        worker_view._map.close()
        clocks.close()


def test_hard_grace() -> None:
    assert hard_grace_s(1) == 2.0
    assert hard_grace_s(60) == 6.0
