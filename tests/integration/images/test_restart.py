"""The server SIGKILLed during a build and started again re-adopts the build."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from modelyard.api import server
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.images import ImageSpec, VenvBuilder
from modelyard.runtime import LocalProcessRuntime
from modelyard.sdk.client import ApiClient

TINY_PACKAGE = "six==1.17.0"


@pytest.fixture
def served_settings(
    images_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    reset_settings()
    yield get_settings()
    down = [sys.executable, "-m", "modelyard.cli.main", "down"]
    subprocess.run(down, check=False, capture_output=True, timeout=60)
    for handle in LocalProcessRuntime(images_settings.run_dir / "containers").list():
        handle.stop(grace_s=0)


def _up(settings: Settings) -> str:
    """``modelyard up``, as a user starts the background server."""
    command = [sys.executable, "-m", "modelyard.cli.main", "up"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    state = server.read_state(settings)
    assert state is not None
    return state.url


def test_a_build_running_when_the_server_is_killed_is_readopted(
    served_settings: Settings,
) -> None:
    spec = ImageSpec(name="tiny", tag="1", packages=(TINY_PACKAGE,))
    lock_path = VenvBuilder(served_settings.images_dir).images_dir / "locks"
    lock_path.mkdir(parents=True, exist_ok=True)
    with open(lock_path / f"{spec.spec_hash}.lock", "a+") as lock:
        # Hold the builder's lock: the build container waits for it, so it is
        # certainly still running when the server dies.
        fcntl.flock(lock, fcntl.LOCK_EX)
        with ApiClient(_up(served_settings)) as api:
            api.post_json("/images", {"Name": "tiny", "Tag": "1", "Packages": [TINY_PACKAGE]})
            assert api.post_json("/images/tiny:1/build")["ImageStatus"] == "Building"
        state = server.read_state(served_settings)
        assert state is not None
        os.kill(state.pid, signal.SIGKILL)
        psutil.Process(state.pid).wait(timeout=10)

        runtime = LocalProcessRuntime(served_settings.run_dir / "containers")
        builds = [h for h in runtime.handles() if h.spec.labels.get("modelyard.image") == "tiny:1"]
        assert len(builds) == 1
        assert builds[0].is_running(), "the build outlives the server"

        with ApiClient(_up(served_settings)) as api:
            assert api.get_json("/images/tiny:1")["ImageStatus"] == "Building"
            fcntl.flock(lock, fcntl.LOCK_UN)
            finished = api.request("POST", "/images/tiny:1/build", params={"wait": "true"}).json()
            assert finished["ImageStatus"] == "Ready"
            assert runtime.handles() == [], "a finished build's container is cleaned up"
