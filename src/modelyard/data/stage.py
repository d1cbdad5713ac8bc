"""``stage_channel``: the one entry point the training controller calls per channel and host."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelyard.data.channel import FileSystemSource, parse_channel
from modelyard.data.file_mode import stage_file
from modelyard.data.filesystem import stage_file_system
from modelyard.data.progress import ProgressFile
from modelyard.data.selection import check_host, host_order, list_all_objects
from modelyard.data.staged import StagedChannel
from modelyard.store.base import Store


def stage_channel(
    store: Store,
    channel: Mapping[str, Any],
    dest: Path,
    *,
    host_index: int,
    host_count: int,
    input_mode: str,
    progress: Callable[[int], None] | None = None,
    progress_path: Path | None = None,
) -> StagedChannel:
    """Make one ``InputDataConfig`` channel available under ``dest`` (``<jobdir>/input/data``).

    ``host_index`` is this host's 0-based position among ``host_count`` hosts;
    ``input_mode`` is the job's ``TrainingInputMode``, which the channel's own
    ``InputMode`` overrides. ``progress`` receives byte counts as File mode
    writes (from worker threads); other modes stage no bytes up front.
    ``progress_path`` is where Pipe and FastFile feeders record how far they got, for
    :func:`modelyard.data.resume_channel` after a server restart.

    File returns when every file is in place; FileSystem when the link is made;
    Pipe and FastFile return at once with feeder threads running until
    :meth:`StagedChannel.close`. Raises ValidationError for a bad channel or one
    with no data, StoreError / NotFoundError when the store fails meanwhile.
    """
    spec = parse_channel(channel, input_mode=input_mode)
    check_host(host_index, host_count)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    channel_dir = dest / spec.name
    if isinstance(spec.source, FileSystemSource):
        return stage_file_system(spec, channel_dir)
    record = ProgressFile(progress_path) if progress_path is not None else None
    if spec.s3.data_type == "AugmentedManifestFile":
        from modelyard.data.augmented import stage_augmented

        return stage_augmented(store, spec, channel_dir, host_index, host_count, progress=record)
    objects = list_all_objects(store, spec)
    if spec.input_mode == "Pipe":
        from modelyard.data.pipe import stage_pipe

        return stage_pipe(
            store, spec, objects, channel_dir, host_index, host_count, progress=record
        )
    mine = host_order(objects, spec, host_index, host_count)
    if spec.input_mode == "FastFile":
        from modelyard.data.fastfile import stage_fast_file

        return stage_fast_file(store, spec, mine, channel_dir, progress=record)
    return stage_file(store, spec, mine, channel_dir, progress=progress)
