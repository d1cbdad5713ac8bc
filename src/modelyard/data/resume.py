"""``resume_channel``: feed a running job's channel again after a server restart.

The training script survives a server restart; the threads feeding its Pipe and
FastFile channels do not. A new server calls :func:`resume_channel` for each channel of
each re-adopted host, with the progress file the old feeder kept
(:mod:`modelyard.data.progress`):

File, FileSystem, FastFile from the local store
    nothing to do: the files (copies, links) are on disk. Returns None.
Pipe (S3 prefix or augmented manifest)
    if the old feeder was waiting for the script to open ``<channel>_<e>`` (it had not
    opened it yet, or was between epochs), a new feeder goes on from epoch ``e`` on the
    same FIFO, byte for byte what the old one would have fed (same order, same shuffle).
    If the script had epoch ``e`` open, that epoch was cut short when the old server's
    end of the pipe closed, and the script cannot tell a cut epoch from a whole one:
    :class:`FeedInterruptedError`, and the job fails saying so. Nothing is re-fed.
FastFile from any other store
    the dispatcher is started again over the same FIFOs (a script waiting to open one
    is served); if files were being streamed when the old server went away, they were
    cut short: :class:`FeedInterruptedError`.

The channel's objects are listed again: objects added under the prefix since the job
started would join later epochs (the File-mode copy does not have this caveat).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.data.channel import FileSystemSource, parse_channel
from modelyard.data.progress import ProgressFile
from modelyard.data.selection import check_host, host_order, list_all_objects
from modelyard.data.staged import StagedChannel
from modelyard.store.base import Store
from modelyard.store.local import LocalStore

logger = logging.getLogger(__name__)


class FeedInterruptedError(Exception):
    """The old server was feeding the channel when it went away: the data was cut short."""


def needs_feeder(store: Store, channel: Mapping[str, Any], *, input_mode: str) -> bool:
    """Whether the channel is fed by threads of the server (Pipe, FastFile off a remote store)."""
    spec = parse_channel(channel, input_mode=input_mode)
    if isinstance(spec.source, FileSystemSource):
        return False
    if spec.input_mode == "Pipe":
        return True
    return spec.input_mode == "FastFile" and not isinstance(store, LocalStore)


def resume_channel(
    store: Store,
    channel: Mapping[str, Any],
    dest: Path,
    *,
    host_index: int,
    host_count: int,
    input_mode: str,
    progress_path: Path,
) -> StagedChannel | None:
    """Feed ``channel`` again where the old server stopped (see the module doc).

    Returns None when nothing feeds it; raises :class:`FeedInterruptedError` when the
    old feeding was cut short (or left no record), ValidationError / StoreError when the
    channel cannot be listed.
    """
    if not needs_feeder(store, channel, input_mode=input_mode):
        return None
    spec = parse_channel(channel, input_mode=input_mode)
    check_host(host_index, host_count)
    channel_dir = Path(dest) / spec.name
    record = ProgressFile(progress_path)
    state = record.read()
    logger.info("channel %r (host %d): resuming from %s", spec.name, host_index, state)
    if state is None or state.get("mode") != spec.input_mode:
        raise FeedInterruptedError(
            f"channel {spec.name!r}: the server restarted and found no record of how far "
            f"its {spec.input_mode}-mode feeding had got"
        )
    if spec.input_mode == "Pipe":
        epoch = int(state.get("epoch", 0))
        if state.get("reading"):
            raise FeedInterruptedError(
                f"the server restarted during a Pipe-mode epoch: epoch {epoch} of channel "
                f"{spec.name!r} was being read, and its stream was cut short (the script may "
                "have seen a truncated epoch as a whole one)"
            )
        if spec.s3.data_type == "AugmentedManifestFile":
            from modelyard.data.augmented import stage_augmented

            return stage_augmented(
                store, spec, channel_dir, host_index, host_count, progress=record, first_epoch=epoch
            )
        from modelyard.data.pipe import stage_pipe

        objects = list_all_objects(store, spec)
        return stage_pipe(
            store,
            spec,
            objects,
            channel_dir,
            host_index,
            host_count,
            progress=record,
            first_epoch=epoch,
        )
    streams = int(state.get("streams", 0))
    if streams:
        raise FeedInterruptedError(
            f"the server restarted while {streams} file(s) of FastFile channel {spec.name!r} "
            "were being streamed, and they were cut short"
        )
    from modelyard.data.fastfile import stage_fast_file

    mine = host_order(list_all_objects(store, spec), spec, host_index, host_count)
    return stage_fast_file(store, spec, mine, channel_dir, progress=record)
