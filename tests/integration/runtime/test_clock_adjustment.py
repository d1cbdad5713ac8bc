"""Containers stay running through clock adjustments and concurrent launches.

psutil's epoch ``create_time`` is the start in ticks since boot plus ``/proc/stat``'s
boot time, which follows the wall clock: after an adjustment it moves by a second.
The identity check compares ticks since boot, so a live process is never taken for
another one (and recorded as lost while it keeps running).
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from modelyard.runtime import ContainerSpec, LocalHandle, LocalProcessRuntime, Resources


def test_a_clock_adjustment_does_not_make_a_live_container_look_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = LocalProcessRuntime(tmp_path / "containers")
    handle = runtime.launch(ContainerSpec(name="sleeper", command=["sleep", "30"]))
    try:
        assert runtime.adopt(handle.id).is_running()
        boot = psutil.boot_time()
        monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: boot + 1.0)
        assert abs(psutil.Process(handle.pid() or 0).create_time() - boot) > 1.0
        assert runtime.adopt(handle.id).is_running()
        assert runtime.adopt(handle.id).exit_code() is None
    finally:
        monkeypatch.undo()
        handle.stop(2.0)
    assert handle.exit_code() is not None


def test_a_container_being_launched_by_another_thread_is_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A launch looks at the other containers (to spread CPUs): one another thread is
    still launching (its supervisor has not reported) is running, not lost."""
    runtime = LocalProcessRuntime(tmp_path / "containers")
    reached, release = threading.Event(), threading.Event()
    original = runtime._start_supervisor

    def slow_start(container_dir: Path) -> None:
        reached.set()
        release.wait(10)
        original(container_dir)

    monkeypatch.setattr(runtime, "_start_supervisor", slow_start)
    launched: list[LocalHandle] = []
    spec = ContainerSpec(name="slow", command=["sleep", "30"], resources=Resources(cpus=1))
    thread = threading.Thread(target=lambda: launched.append(runtime.launch(spec)))
    thread.start()
    try:
        assert reached.wait(10)
        (pending,) = runtime.handles()
        assert pending.is_running()
        assert not (pending.container_dir / "exit_code").exists()
    finally:
        release.set()
        thread.join(30)
    (handle,) = launched
    try:
        assert runtime.adopt(handle.id).is_running()
    finally:
        handle.stop(2.0)
