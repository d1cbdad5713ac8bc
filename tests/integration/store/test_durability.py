"""A local store survives SIGKILL: what a put returned is there whole, what it had
not returned is not there at all."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from modelyard.store.local import LocalStore

WRITER = """
import sys, time
from modelyard.store.local import LocalStore

store = LocalStore(sys.argv[1])
store.create_bucket("durable", exist_ok=True)
store.put_object("durable", "model/v1.bin", bytes(range(256)) * 40_000)
print("put returned", flush=True)


class Slow:
    def __init__(self):
        self.sent = 0

    def read(self, size=-1):
        if self.sent == 2:
            print("second version half written", flush=True)
            time.sleep(60)
        self.sent += 1
        return b"v2" * 1_000_000

store.put_object("durable", "model/v1.bin", Slow())
"""


def test_an_object_survives_sigkill_and_a_killed_overwrite_changes_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    try:
        assert writer.stdout.readline().strip() == "put returned"
        assert writer.stdout.readline().strip() == "second version half written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL

    store = LocalStore(root)  # as the restarted server would
    expected = bytes(range(256)) * 40_000
    assert store.get_object("durable", "model/v1.bin") == expected
    head = store.head_object("durable", "model/v1.bin")
    assert head.sha256 == hashlib.sha256(expected).hexdigest()
    assert [o.key for o in store.iter_objects("durable")] == ["model/v1.bin"]


def test_the_server_killed_and_restarted_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from modelyard.api import server
    from modelyard.config import get_settings, reset_settings
    from modelyard.sdk import objects
    from modelyard.sdk.client import ApiClient

    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    reset_settings()
    settings = get_settings()
    data = os.urandom(3 * 1024 * 1024)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "part-0").write_bytes(data)

    def up() -> str:
        """``modelyard up``, as a user starts the background server."""
        command = [sys.executable, "-m", "modelyard.cli.main", "up"]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        state = server.read_state(settings)
        assert state is not None
        return state.url

    try:
        with ApiClient(up()) as api:
            objects.create_bucket(api, "kept")
            objects.upload_directory(api, tmp_path / "tree", "kept", "run")
            objects.put_bytes(api, "kept", "notes.txt", b"written just before the kill")
        state = server.read_state(settings)
        assert state is not None
        os.kill(state.pid, signal.SIGKILL)
        psutil.Process(state.pid).wait(timeout=10)

        with ApiClient(up()) as api:
            assert objects.get_bytes(api, "kept", "run/part-0") == data
            assert objects.get_bytes(api, "kept", "notes.txt") == b"written just before the kill"
            head = objects.head_object(api, "kept", "run/part-0")
            assert head["Sha256"] == hashlib.sha256(data).hexdigest()
    finally:
        down = [sys.executable, "-m", "modelyard.cli.main", "down"]
        subprocess.run(down, check=False, capture_output=True, timeout=60)
