"""A training job's channels on each host: staged, fed again after a restart, released.

The data layer does the delivering (:mod:`modelyard.data`); this module is the training
controller's side of it: which host gets what, where the Pipe / FastFile feeders keep
their progress (``<jobs>/<job>/feeders/<host>/<channel>.json``, outside the hosts'
``/opt/ml``), and how failures read as a job's FailureReason.

Across a server restart (see :mod:`modelyard.data.resume`): a server shutting down
detaches the feeders (the FIFOs, and a script waiting on one, stay); the next server
feeds a re-adopted job's channels again from the epoch not yet opened, or fails the job
when an epoch (or a FastFile file) was being read as the old server went away:
``InternalServerError: the server restarted during a Pipe-mode epoch ...``.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelyard.container.paths import JobPaths
from modelyard.data import FeedInterruptedError, StagedChannel, resume_channel, stage_channel
from modelyard.errors import ModelyardError
from modelyard.jobs.job import Job, JobFailedError
from modelyard.jobs.training_spec import input_mode
from modelyard.store.base import Store

FEEDERS_DIR = "feeders"
CHANNELS_KEY = "channels"  # job.data: the StagedChannels being fed


def progress_path(job_dir: Path, host: str, channel: str) -> Path:
    """Where a Pipe / FastFile feeder of ``host`` records its progress."""
    return job_dir / FEEDERS_DIR / host / f"{channel}.json"


def _track(job: Job, staged: StagedChannel) -> None:
    job.closeables.append(staged)
    job.data.setdefault(CHANNELS_KEY, []).append(staged)


def stage_host_channels(store: Store, job: Job, job_dir: Path, host: str, paths: JobPaths) -> None:
    """Stage every channel for ``host`` (File copies, links, FIFOs and their feeders)."""
    index = job.hosts.index(host)
    for channel in job.spec.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        try:
            staged = stage_channel(
                store,
                channel,
                paths.input_data_dir,
                host_index=index,
                host_count=len(job.hosts),
                input_mode=input_mode(job.spec, channel),
                progress_path=progress_path(job_dir, host, name),
            )
        except ModelyardError as exc:
            raise JobFailedError(
                f"ClientError: channel {name!r} could not be staged: {exc}"
            ) from exc
        _track(job, staged)


def resume_feeders(store: Store, job: Job, job_dir: Path, host_dir: Callable[[str], Path]) -> None:
    """Feed the Pipe / FastFile channels of a re-adopted job again, or fail it honestly
    when the old server was cut off mid-stream (JobFailedError)."""
    for index, host in enumerate(job.hosts):
        data_dir = JobPaths(host_dir(host)).input_data_dir
        for channel in job.spec.get("InputDataConfig") or []:
            name = channel["ChannelName"]
            try:
                staged = resume_channel(
                    store,
                    channel,
                    data_dir,
                    host_index=index,
                    host_count=len(job.hosts),
                    input_mode=input_mode(job.spec, channel),
                    progress_path=progress_path(job_dir, host, name),
                )
            except FeedInterruptedError as exc:
                where = f" (on {host})" if len(job.hosts) > 1 else ""
                raise JobFailedError(
                    f"InternalServerError: {exc}{where}; create the job again"
                ) from exc
            except ModelyardError as exc:
                raise JobFailedError(
                    f"InternalServerError: channel {name!r} could not be fed again after a "
                    f"server restart: {exc}"
                ) from exc
            if staged is not None:
                _track(job, staged)


def detach_feeders(job: Job) -> None:
    """The server shuts down, the job goes on: feeders stop, their FIFOs stay."""
    for closeable in job.closeables:
        with contextlib.suppress(Exception):
            if isinstance(closeable, StagedChannel):
                closeable.detach()
            else:
                closeable.close()


def delivery_failure(job: Job) -> str | None:
    """The FailureReason when feeding a channel failed (Pipe, FastFile): that explains
    the job, whatever the hosts' exit codes say."""
    staged: Any
    for staged in job.data.get(CHANNELS_KEY, []):
        if isinstance(staged, StagedChannel) and staged.error is not None:
            reason = f"ClientError: channel {staged.name!r} could not be delivered: {staged.error}"
            return reason[:1024]
    return None


def release_channels(job: Job, job_dir: Path, host_dir: Callable[[str], Path]) -> None:
    """Drop the staged input data (copies, FIFOs, links) and the feeders' progress."""
    shutil.rmtree(job_dir / FEEDERS_DIR, ignore_errors=True)
    for host in job.hosts:
        data_dir = JobPaths(host_dir(host)).input_data_dir
        if not data_dir.is_dir():
            continue
        for entry in data_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
