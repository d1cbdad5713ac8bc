"""FastFile mode: the channel's objects appear as files at once and stream when read.

SageMaker mounts the S3 prefix through FUSE: the files are listed at once and
their bytes are fetched when read, "optimised for sequential reads". Without
FUSE (it needs a kernel module, privileges or ``fusermount3``, and libfuse;
none of which a laptop user or an unprivileged runtime can count on; checked:
in our Firecracker VM the kernel's FUSE answers a raw mount as root, but
neither libfuse nor fusepy / pyfuse3 is installed) each backend gets the most
honest mechanism it allows:

Local store: hard links (zero copy, random access)
    Each object file of the store is hard-linked at its place in the channel
    directory, read-only, as File mode does (see :mod:`.file_mode`): no byte
    is copied or staged, reads stream from the page cache, seeking, ``stat``
    and memory maps all work, and the link pins the version the job started
    with. Across file systems (no hard link possible) a symbolic link to the
    object file is made instead; it follows later puts of the key.

Any other store (S3): one named FIFO per object, streamed on every open
    Each file is a FIFO. A dispatcher thread notices a reader opening one (by
    polling non-blocking opens for writing), swaps a fresh FIFO in at that path
    (so the next open, concurrent or later, gets a stream of its own) and
    hands the opened pipe to a thread that streams the object from the store
    in 1 MiB chunks. Nothing is staged on disk and memory stays at a few
    chunks per open file, whatever the object sizes. The trade-offs, all of
    sequential-read FastFile's nature made stricter:

    * reads are sequential only: ``seek``, ``mmap`` and formats that read
      their end first (zip, Parquet footers, HDF5) fail; use File mode;
    * ``stat`` says FIFO of size 0: code that filters with
      ``os.path.isfile`` or sizes files up front skips or misreads them
      (``glob``, ``os.listdir``, ``open`` and ``pandas.read_csv`` work);
    * each open streams the object again, from the start;
    * the dispatcher polls every idle FIFO: every 5 ms after activity (and at
      once when a stream ends, as a sequential reader then opens the next
      file), backing off to 25 ms when idle, and further for channels so
      large that a sweep would take more than 1/20 of the time (measured
      here: ~5.5 µs per FIFO, 1,000 objects in 5.5 ms). An open may wait that
      long for its first byte; File or Pipe mode suit channels of many
      thousands of small objects better;
    * at most ``MAX_STREAMS`` files stream at once; further opens wait;
    * a FIFO connects every reader waiting in ``open`` to the one writer, so
      processes opening *the same file at the same moment* share one stream
      (each gets part of the bytes). Opens of different files, and later
      opens of the same file (the FIFO is swapped as soon as a stream starts),
      each get their own. Several processes reading one file at once (e.g.
      ``torchrun`` workers all loading ``train.csv``) need File mode.

:meth:`StagedChannel.close` stops every stream within ~0.1 s, gives end of file
to readers still waiting in ``open``, and removes the FIFOs. :meth:`StagedChannel.detach`
(the server shuts down, the job goes on) stops the threads but leaves the FIFOs, so
readers waiting in ``open`` are served by the next server, which re-stages the
dispatcher over the same FIFOs (:mod:`modelyard.data.resume`); the number of files
streaming at any moment is kept in a :class:`~modelyard.data.progress.ProgressFile`,
since a file being streamed when a server goes away is cut short.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from modelyard.data import fifo
from modelyard.data.channel import ChannelSpec
from modelyard.data.file_mode import (
    link_object,
    local_object_path,
    plan,
    prepare_channel_dir,
)
from modelyard.data.progress import ProgressFile
from modelyard.data.selection import ObjectRef
from modelyard.data.staged import StagedChannel
from modelyard.data.streams import read_chunks
from modelyard.store.base import Store
from modelyard.store.local import LocalStore

logger = logging.getLogger(__name__)

MAX_STREAMS = 16
STOP_TIMEOUT_S = 5.0
IDLE_POLL_S = 0.025
#: An idle sweep may take at most 1/POLL_DUTY_RATIO of the time between sweeps.
POLL_DUTY_RATIO = 20


def stage_fast_file(
    store: Store,
    spec: ChannelSpec,
    objects: Sequence[ObjectRef],
    channel_dir: Path,
    *,
    progress: ProgressFile | None = None,
) -> StagedChannel:
    """Present this host's ``objects`` under ``channel_dir`` without staging their bytes.

    FIFOs already at their paths (a resumed job) are kept: a script may be waiting on one.
    """
    prepare_channel_dir(channel_dir)
    chosen = plan(list(objects), channel_dir, spec)
    targets = [(channel_dir.joinpath(*ref.relative_path.split("/")), ref) for ref in chosen]
    feeder: FifoFileServer | None = None
    if isinstance(store, LocalStore):
        for target, ref in targets:
            _link_or_symlink(store, ref, target)
    else:
        feeder = FifoFileServer(store, targets, spec.name, progress=progress)
        feeder.start()
    return StagedChannel(
        spec.name,
        "FastFile",
        channel_dir,
        object_count=len(chosen),
        bytes_total=sum(ref.size for ref in chosen),
        read_only=True,
        feeder=feeder,
    )


def _link_or_symlink(store: LocalStore, ref: ObjectRef, target: Path) -> None:
    if link_object(store, ref, target):
        return
    source = local_object_path(store, ref)
    temp = target.with_name(f".{target.name}.symlink")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    os.symlink(source, temp)
    os.replace(temp, target)


class FifoFileServer:
    """Streams objects to whoever opens their FIFOs, until stopped."""

    def __init__(
        self,
        store: Store,
        targets: Sequence[tuple[Path, ObjectRef]],
        name: str,
        *,
        progress: ProgressFile | None = None,
    ) -> None:
        self._store = store
        self._progress = progress
        self._targets = list(targets)
        self._name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._streams: set[threading.Thread] = set()
        self._dispatcher = threading.Thread(
            target=self._dispatch, name=f"fastfile-{name}", daemon=True
        )
        self.streams_served = 0

    @property
    def error(self) -> BaseException | None:
        return self._error

    def start(self) -> None:
        for path, _ref in self._targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not (path.exists() and stat.S_ISFIFO(path.lstat().st_mode)):
                fifo.make_fifo(path)
        self._record(0)
        self._dispatcher.start()

    def stop(self) -> None:
        self._halt()
        for path, _ref in self._targets:
            fifo.release_waiting_reader(path)
            fifo.remove_fifo(path)

    def detach(self) -> None:
        """Stop the threads, leave the FIFOs for the next server (see the module doc)."""
        self._halt()

    def _halt(self) -> None:
        self._stop.set()
        self._wake.set()
        self._dispatcher.join(STOP_TIMEOUT_S)
        with self._lock:
            streams = list(self._streams)
        for thread in streams:
            thread.join(STOP_TIMEOUT_S)

    def _record(self, streams: int) -> None:
        if self._progress is not None:
            self._progress.write(mode="FastFile", streams=streams)

    def _active(self) -> int:
        with self._lock:
            return len(self._streams)

    def _dispatch(self) -> None:
        interval = fifo.FIRST_POLL_S
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                accepted = self._sweep()
                sweep_s = time.monotonic() - started
                if accepted:
                    interval = fifo.FIRST_POLL_S
                else:
                    interval = min(interval * 2, max(IDLE_POLL_S, sweep_s * POLL_DUTY_RATIO))
                if self._wake.wait(interval):  # a stream ended: its reader may open the next file
                    self._wake.clear()
                    interval = fifo.FIRST_POLL_S
        except BaseException as exc:
            self._error = exc
            logger.error("channel %r: FastFile dispatcher failed: %s", self._name, exc)

    def _sweep(self) -> bool:
        """Serve every FIFO a reader has opened since the last sweep; True if any was."""
        accepted = False
        for path, ref in self._targets:
            if self._stop.is_set() or self._active() >= MAX_STREAMS:
                break
            fd = fifo.try_open_writer(path)
            if fd is None:
                continue
            try:
                fifo.make_fifo(path)  # later opens get a stream of their own
            except OSError as exc:  # the script removed the directory: serve this open only
                logger.info("channel %r: cannot renew %s: %s", self._name, path, exc)
            self._serve(fd, ref)
            accepted = True
        return accepted

    def _serve(self, fd: int, ref: ObjectRef) -> None:
        thread = threading.Thread(
            target=self._stream, args=(fd, ref), name=f"fastfile-{self._name}-stream", daemon=True
        )
        with self._lock:
            self._streams.add(thread)
            self._record(len(self._streams))
        thread.start()

    def _stream(self, fd: int, ref: ObjectRef) -> None:
        writer = fifo.FifoWriter(fd, self._stop)
        try:
            for chunk in read_chunks(self._store, ref):
                writer.write(chunk)
        except (fifo.ReaderGoneError, fifo.FeedStoppedError):
            pass
        except Exception as exc:
            # The reader sees a short file; the error is kept for the controller.
            self._error = exc
            logger.error("channel %r: streaming %s failed: %s", self._name, ref.uri, exc)
        finally:
            cut_short = self._stop.is_set()
            writer.close()
            with self._lock:
                self._streams.discard(threading.current_thread())
                self.streams_served += 1
                if not cut_short:  # a stream stopped midway stays counted: it was cut
                    self._record(len(self._streams))
            self._wake.set()
