"""An endpoint rebuilt from its catalog record after a server restart, its replicas re-adopted.

The record's ``state`` says which deployments exist and which replicas each had
(:mod:`.deployments`). A replica whose handle was recorded is adopted through the
Runtime if its process still runs; one launched but never recorded (the server died in
between) is found by its label; either way it starts over as ``Starting`` and serves
again once its ``/ping`` answers. Replicas of no known deployment, and containers
labelled for the endpoint that nobody recorded, are to be stopped.

An inference pipeline's replica is one group (its front and a process per container):
its ``HandleId`` lists them all, and it is adopted only if every one still runs (a
group with a dead member is stopped, and the variant launches a whole new one).

:func:`readopt_all` is the loop's part of a restart: every endpoint of the catalog it
does not hold yet is rebuilt so, under the loop's lock; the unwanted replicas are
stopped in its pool.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelyard.catalog.base import ResourceRecord
from modelyard.hosting.deployment import Rollout
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.hosting.replica_process import HANDLE_SEPARATOR
from modelyard.hosting.replica_set import HealthPolicy
from modelyard.hosting.replicas import ReplicaLauncher, ReplicaProcess
from modelyard.ids import ResourceKind, utcnow

if TYPE_CHECKING:
    from modelyard.hosting.reconciler import Reconciler

log = logging.getLogger(__name__)

STOP_GRACE_S = 2.0
KIND = ResourceKind.ENDPOINT

Stop = Callable[[], object]


def readopt_all(loop: Reconciler) -> None:
    """Give the loop every endpoint of the catalog it does not hold yet (a server restart)."""
    token: str | None = None
    while True:
        page = loop.catalog.list(KIND, next_token=token)
        for record in page.records:
            if record.name in loop.endpoints:
                continue
            try:
                _adopt(loop, record)
            except Exception:
                log.exception("endpoint %s: re-adopting after a restart failed", record.name)
        token = page.next_token
        if not token:
            break


def _adopt(loop: Reconciler, record: ResourceRecord) -> None:
    state, stops = readopt(record, loop.launcher, loop.policy, loop.clock())
    for stop in stops:
        loop.pool.submit(stop)
    with loop.lock:
        loop.endpoints[record.name] = state
        loop.status[record.name] = record.status
        if record.status == "Deleting":
            state.deleting = True
        elif record.status == "Failed":
            for deployment in state.deployments():
                loop.retire(state, deployment)
            state.pending = None
        loop.save_replicas(state)
    log.info(
        "endpoint %s (%s): re-adopted %d replica(s)",
        record.name,
        record.status,
        len(state.processes),
    )


def readopt(
    record: ResourceRecord, launcher: ReplicaLauncher, policy: HealthPolicy, now: float
) -> tuple[EndpointState, list[Stop]]:
    """The endpoint's state with its live replicas, and the stops of the unwanted ones."""
    state = EndpointState(record.name)
    data = record.state
    if data.get("Active"):
        state.active = Deployment.from_state(data["Active"])
        state.active.build_sets(policy)
    if data.get("Pending"):
        state.pending = Deployment.from_state(data["Pending"])
        state.pending.build_sets(policy)
        if state.active is not None and data.get("Rollout"):
            state.rollout = Rollout.from_state(data["Rollout"])  # an update resumes where it was
    stops: list[Stop] = []
    for replica_id, entry in (data.get("Replicas") or {}).items():
        deployment = state.deployment(entry.get("DeploymentId", ""))
        variant = entry.get("VariantName", "")
        process: ReplicaProcess | None = None
        if entry.get("HandleId"):
            process = launcher.adopt(replica_id, entry["HandleId"])
        else:
            handle = launcher.find(replica_id)
            if handle is not None:
                process = launcher.adopt(replica_id, handle.id)
        if process is None:
            continue
        if deployment is None or variant not in deployment.sets:
            stops.append(functools.partial(process.stop, STOP_GRACE_S))
            continue
        deployment.sets[variant].added(replica_id, now)
        state.processes[replica_id] = process
        state.owners[replica_id] = (deployment.deployment_id, variant)
        state.launched_at[replica_id] = entry.get("LaunchedAt") or utcnow().isoformat()
    known = {one for p in state.processes.values() for one in p.handle_id.split(HANDLE_SEPARATOR)}
    for handle in launcher.running_for(record.name):
        if handle.id not in known:
            log.info("endpoint %s: stopping unrecorded replica %s", record.name, handle.id)
            stops.append(functools.partial(handle.stop, STOP_GRACE_S))
    return state, stops
