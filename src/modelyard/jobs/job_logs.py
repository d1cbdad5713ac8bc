"""A job's container logs: one host's, or several merged, optionally followed.

The handles are found through the record's ``state["Hosts"]``; following waits for
the job to launch them and ends once they have exited and their logs are drained.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import NotFoundError
from modelyard.jobs.job import ACTIVE_STATUSES, HOST_COUNT_KEY, HOSTS_KEY, host_order
from modelyard.runtime.base import Handle, Runtime

log = logging.getLogger(__name__)


def check_host(record: ResourceRecord, host: str | None) -> None:
    """Refuse (404) a host the job does not have."""
    if host is None or host in (record.state.get(HOSTS_KEY) or {}):
        return
    count = int(record.state.get(HOST_COUNT_KEY) or 0)
    known = [f"algo-{i}" for i in range(1, count + 1)]
    if host not in known:
        raise NotFoundError(
            f"{record.kind.value} {record.name!r} has no host {host!r} (hosts: {', '.join(known)})"
        )


def log_lines(
    catalog: Catalog,
    runtime: Runtime,
    record: ResourceRecord,
    *,
    follow: bool,
    since_line: int,
    host: str | None,
    poll_interval_s: float,
    shutting_down: Callable[[], bool],
) -> Iterator[str]:
    """The lines of one host, or of all of them led by ``[algo-i]`` (see the module doc)."""
    handles = _wait_for_handles(catalog, runtime, record, follow, poll_interval_s, shutting_down)
    if host is not None:
        handles = {h: handle for h, handle in handles.items() if h == host}
    if not handles:
        return
    if len(handles) == 1:
        yield from next(iter(handles.values())).logs(follow=follow, since_line=since_line)
        return
    lines = (
        merge_followed(handles, shutting_down)
        if follow
        else (f"[{h}] {line}" for h, handle in handles.items() for line in handle.logs())
    )
    for index, line in enumerate(lines):
        if index >= since_line:
            yield line


def _wait_for_handles(
    catalog: Catalog,
    runtime: Runtime,
    record: ResourceRecord,
    follow: bool,
    poll_interval_s: float,
    shutting_down: Callable[[], bool],
) -> dict[str, Handle]:
    while True:
        hosts: dict[str, str] = record.state.get(HOSTS_KEY) or {}
        count = int(record.state.get(HOST_COUNT_KEY) or 0)
        ended = record.status not in ACTIVE_STATUSES
        if (hosts and len(hosts) >= count) or ended or not follow or shutting_down():
            found: dict[str, Handle] = {}
            for host, handle_id in sorted(hosts.items(), key=lambda item: host_order(item[0])):
                with contextlib.suppress(NotFoundError):
                    found[host] = runtime.adopt(handle_id)
            return found
        time.sleep(poll_interval_s)
        record = catalog.get(record.kind, record.name)


def merge_followed(handles: dict[str, Handle], shutting_down: Callable[[], bool]) -> Iterator[str]:
    """Follow several logs at once; lines are prefixed with their host."""
    lines: queue.Queue[str | None] = queue.Queue(maxsize=10000)

    def pump(host: str, handle: Handle) -> None:
        try:
            for line in handle.logs(follow=True):
                lines.put(f"[{host}] {line}")
        except Exception:
            log.debug("log of %s ended with an error", host, exc_info=True)
        finally:
            lines.put(None)

    for host, handle in handles.items():
        threading.Thread(target=pump, args=(host, handle), daemon=True).start()
    remaining = len(handles)
    while remaining:
        try:
            item = lines.get(timeout=1.0)
        except queue.Empty:
            if shutting_down():
                return
            continue
        if item is None:
            remaining -= 1
        else:
            yield item
