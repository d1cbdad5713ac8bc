"""Processing outputs: a host's ``LocalPath`` directory uploaded to ``S3Uri``.

Each file lands at ``<S3Uri>/<its path below LocalPath>``; every host of a job uploads
to the same ``S3Uri`` (as SageMaker does, scripts give their files distinct names).

``EndOfJob`` outputs are uploaded once the job has Completed. ``Continuous`` outputs
are uploaded while the script runs by a :class:`ContinuousUploader` thread: every
``interval_s`` it looks at each file's size and modification time and uploads a file
that is new or changed *and* unchanged since the previous look, so a file still being
written is not caught half-way (SageMaker uploads a continuous file when it is
closed; two equal looks are how a poller tells). When the job ends, a last pass
uploads everything that changed, steady or not, whatever the job's outcome.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from modelyard.errors import ModelyardError
from modelyard.store.base import Store
from modelyard.store.transfer import plan_upload, upload_file
from modelyard.store.uri import parse_s3_uri

log = logging.getLogger(__name__)

Signature = tuple[int, int]  # (size, mtime in ns)


@dataclass(frozen=True)
class OutputDir:
    """One output of one host: the directory and where its files go."""

    name: str
    directory: Path
    s3_uri: str


def upload_output(store: Store, output: OutputDir) -> int:
    """Upload every file of ``output``; how many files went."""
    if not output.directory.is_dir():
        return 0
    prefix = parse_s3_uri(output.s3_uri)
    items = plan_upload(output.directory, prefix.key)
    for item in items:
        upload_file(store, item.path, f"s3://{prefix.bucket}/{item.key}")
    return len(items)


class ContinuousUploader:
    """Uploads ``Continuous`` outputs as their files settle (see the module doc)."""

    def __init__(self, store: Store, outputs: Iterable[OutputDir], interval_s: float = 1.0):
        self.store = store
        self.outputs = list(outputs)
        self.interval_s = interval_s
        self._uploaded: dict[Path, Signature] = {}
        self._seen: dict[Path, Signature] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="continuous-upload", daemon=True)

    def start(self) -> ContinuousUploader:
        if self.outputs:
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sync(settled_only=True)
            except Exception as exc:  # a bad name or a store hiccup: try again next pass
                log.warning("continuous upload pass failed: %s", exc)

    def sync(self, *, settled_only: bool = False) -> int:
        """One pass; how many files were uploaded. Not settled files wait unless told."""
        count = 0
        with self._lock:
            for output in self.outputs:
                if not output.directory.is_dir():
                    continue
                prefix = parse_s3_uri(output.s3_uri)
                for item in plan_upload(output.directory, prefix.key):
                    try:
                        stat = item.path.stat()
                    except FileNotFoundError:
                        continue
                    signature = (stat.st_size, stat.st_mtime_ns)
                    previous = self._seen.get(item.path)
                    self._seen[item.path] = signature
                    if self._uploaded.get(item.path) == signature:
                        continue
                    if settled_only and previous != signature:
                        continue  # changed since the last look: maybe still being written
                    upload_file(self.store, item.path, f"s3://{prefix.bucket}/{item.key}")
                    self._uploaded[item.path] = signature
                    count += 1
        return count

    def close(self) -> None:
        """Stop the thread (idempotent); the final pass is :meth:`finish`'s."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(30.0)

    def finish(self) -> None:
        """Stop, then upload whatever changed since the last pass."""
        self.close()
        try:
            self.sync(settled_only=False)
        except ModelyardError as exc:
            self.error = exc
            raise
