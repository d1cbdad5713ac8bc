"""A local store survives SIGKILL: what a put returned is there whole, what it had
not returned is not there at all."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

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
