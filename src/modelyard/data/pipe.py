"""Pipe mode: each epoch of a channel streamed through the FIFO ``<dest>/<channel>_<epoch>``.

The convention is SageMaker's (``PipeModeDataset`` opens ``<channel>_0``,
``<channel>_1``, ... in the channel directory's parent): every time the script
opens the channel anew it reads a new epoch from the next FIFO.

One feeder thread per channel:

1. ``<channel>_0`` exists when :func:`stage_pipe` returns.
2. The feeder waits (polling, see :mod:`modelyard.data.fifo`) until the script
   opens the current FIFO, then streams this host's objects for the epoch:
   reshuffled with ``Seed`` and the epoch when ``ShuffleConfig`` is set, gunzipped
   when ``CompressionType=Gzip``, each wrapped as one RecordIO record when
   ``RecordWrapperType=RecordIO`` (:mod:`modelyard.data.streams`). Memory stays
   bounded by a few chunks whatever the object sizes.
3. At the end of the epoch the next FIFO is created *before* the current one
   is closed, so a script that sees end-of-file and reopens finds it; then the
   old FIFO is closed (the script reads what is buffered, then EOF) and removed
   from the directory (reopening a finished epoch fails at once instead of
   hanging).
4. If the script closes the FIFO early (EPIPE), that epoch simply ends; the
   next one is offered as usual.

:meth:`StagedChannel.detach` (the server shuts down, the job goes on) stops the thread
but leaves the FIFO and a script waiting to open it; the feeder's
:class:`~modelyard.data.progress.ProgressFile` tells the next server which epoch to
feed, or that one was cut short (:mod:`modelyard.data.resume`).

:meth:`StagedChannel.close` stops the feeder within ~0.1 s whatever it is doing
(waiting for a reader, or for a reader that stopped reading), gives EOF to a
script blocked opening the FIFO, and removes the FIFO. A failure (a store
error, an object that is not gzip, a record too large) ends feeding: the
current stream is closed early and ``StagedChannel.error`` says why, for the
controller to fail the job.
"""

from __future__ import annotations

import logging
import re
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from modelyard.data import fifo
from modelyard.data.channel import ChannelSpec
from modelyard.data.file_mode import prepare_channel_dir
from modelyard.data.progress import ProgressFile
from modelyard.data.selection import ObjectRef, host_order
from modelyard.data.staged import StagedChannel
from modelyard.data.streams import check_record_size, delivery
from modelyard.store.base import Store

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0

Item = TypeVar("Item")


def fifo_path(channel_dir: Path, epoch: int) -> Path:
    return channel_dir.with_name(f"{channel_dir.name}_{epoch}")


def stage_pipe(
    store: Store,
    spec: ChannelSpec,
    objects: Sequence[ObjectRef],
    channel_dir: Path,
    host_index: int,
    host_count: int,
    *,
    progress: ProgressFile | None = None,
    first_epoch: int = 0,
) -> StagedChannel:
    """Create ``<channel>_<first_epoch>`` (normally 0) and start feeding; ``objects`` is
    the whole channel, unordered. ``progress`` records how far feeding got."""
    if spec.recordio and not spec.gzip:
        for ref in objects:
            check_record_size(ref.size, ref.uri)
    mine = host_order(objects, spec, host_index, host_count, 0)

    def deliver(ref: ObjectRef) -> Iterable[bytes]:
        return delivery(store, ref, gzip=spec.gzip, recordio_wrap=spec.recordio)

    feeder = start_feeder(
        spec,
        objects,
        deliver,
        channel_dir,
        host_index,
        host_count,
        progress=progress,
        first_epoch=first_epoch,
    )
    return StagedChannel(
        spec.name,
        "Pipe",
        channel_dir,
        object_count=len(mine),
        bytes_total=sum(ref.size for ref in mine),
        feeder=feeder,
    )


def start_feeder(
    spec: ChannelSpec,
    items: Sequence[Item],
    deliver: Callable[[Item], Iterable[bytes]],
    channel_dir: Path,
    host_index: int,
    host_count: int,
    *,
    progress: ProgressFile | None = None,
    first_epoch: int = 0,
) -> PipeFeeder[Item]:
    """Feed ``items`` (objects, manifest lines) epoch after epoch, each as ``deliver`` gives
    it, from ``first_epoch`` on (a new server resuming an earlier one's feeding)."""
    prepare_channel_dir(channel_dir)
    remove_stale_fifos(channel_dir, keep=fifo_path(channel_dir, first_epoch))
    feeder = PipeFeeder(
        spec,
        items,
        deliver,
        channel_dir,
        host_index,
        host_count,
        progress=progress,
        first_epoch=first_epoch,
    )
    feeder.start()
    return feeder


def remove_stale_fifos(channel_dir: Path, *, keep: Path | None = None) -> None:
    """Remove ``<channel>_<n>`` FIFOs an earlier feeder of this channel left behind.

    ``keep`` is the FIFO a resumed feeder goes on with: a script may be blocked opening
    it, and a replaced FIFO would leave it blocked on the old one for ever.
    """
    pattern = re.compile(re.escape(channel_dir.name) + r"_\d+")
    for path in channel_dir.parent.iterdir():
        if path == keep:
            continue
        if pattern.fullmatch(path.name) and stat.S_ISFIFO(path.lstat().st_mode):
            fifo.remove_fifo(path)


class PipeFeeder(Generic[Item]):
    """Feeds one channel's epochs through its FIFOs, on its own thread."""

    def __init__(
        self,
        spec: ChannelSpec,
        items: Sequence[Item],
        deliver: Callable[[Item], Iterable[bytes]],
        channel_dir: Path,
        host_index: int,
        host_count: int,
        *,
        progress: ProgressFile | None = None,
        first_epoch: int = 0,
    ) -> None:
        self._spec = spec
        self._items = list(items)
        self._deliver = deliver
        self._channel_dir = channel_dir
        self._host_index = host_index
        self._host_count = host_count
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"pipe-{spec.name}", daemon=True)
        self._progress = progress
        self.epoch = first_epoch
        self.epochs_completed = 0
        self.bytes_fed = 0

    @property
    def error(self) -> BaseException | None:
        return self._error

    def start(self) -> None:
        path = fifo_path(self._channel_dir, self.epoch)
        if not (path.exists() and stat.S_ISFIFO(path.lstat().st_mode)):
            fifo.make_fifo(path)  # a resumed feeder keeps the FIFO a script may wait on
        self._record(reading=False)
        self._thread.start()

    def stop(self) -> None:
        if not self._halt():
            return
        path = fifo_path(self._channel_dir, self.epoch)
        fifo.release_waiting_reader(path)
        fifo.remove_fifo(path)

    def detach(self) -> None:
        """Stop feeding but leave the current FIFO, and a script waiting on it, for the
        next server (see :mod:`modelyard.data.progress`)."""
        self._halt()

    def _halt(self) -> bool:
        self._stop.set()
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("pipe feeder of channel %r did not stop in time", self._spec.name)
            return False
        return True

    def _record(self, *, reading: bool) -> None:
        if self._progress is not None:
            self._progress.write(mode="Pipe", epoch=self.epoch, reading=reading)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                path = fifo_path(self._channel_dir, self.epoch)
                fd = fifo.wait_for_reader(path, self._stop)
                if fd is None:
                    return
                writer = fifo.FifoWriter(fd, self._stop)
                try:
                    self._record(reading=True)
                    self._feed_epoch(writer)
                finally:
                    self.bytes_fed += writer.bytes_written
                    stopping = self._stop.is_set()
                    carry_on = not stopping and self._error is None
                    if carry_on:
                        fifo.make_fifo(fifo_path(self._channel_dir, self.epoch + 1))
                        # Every byte is in the pipe: whatever happens to this server now,
                        # the script reads the whole epoch.
                        if self._progress is not None:
                            self._progress.write(mode="Pipe", epoch=self.epoch + 1, reading=False)
                    writer.close()
                    if not stopping:
                        fifo.remove_fifo(path)
                    if carry_on:
                        self.epochs_completed += 1
                        self.epoch += 1
                if self._error is not None:
                    return
        except BaseException as exc:  # a thread must not die silently
            self._fail(exc)

    def _feed_epoch(self, writer: fifo.FifoWriter) -> None:
        spec = self._spec
        order = host_order(self._items, spec, self._host_index, self._host_count, self.epoch)
        try:
            for item in order:
                for chunk in self._deliver(item):
                    writer.write(chunk)
        except fifo.ReaderGoneError:
            logger.info("channel %r: the reader closed epoch %d early", spec.name, self.epoch)
        except fifo.FeedStoppedError:
            pass
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        logger.error("channel %r: feeding epoch %d failed: %s", self._spec.name, self.epoch, exc)
