"""Samples of each serving variant's replicas for CPUUtilization and MemoryUtilization.

CPU is SageMaker's: percent of one core, summed over cores, averaged over the variant's
replicas; memory is the replicas' resident set against the instance type's memory (the
machine's when the type has no limit), averaged too. Each replica's whole process tree
counts (its supervisor and workers), read by :meth:`.replicas.ReplicaProcess.utilization`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psutil

from modelyard.hosting.deployments import Deployment, EndpointState, VariantLaunch
from modelyard.hosting.metrics import MetricsStore


def sample_utilization(states: Iterable[EndpointState], metrics: MetricsStore) -> None:
    """Record one sample per serving variant of ``states``.

    During an update the new fleet is sampled too, under its own metrics keys (an alarm
    on its CPU or memory can roll it back: :mod:`.deployment`).
    """
    for state in states:
        for deployment in (state.active, state.pending if state.rollout is not None else None):
            if deployment is not None and deployment.launches is not None:
                _sample(state, deployment, deployment.launches, metrics)


def _sample(
    state: EndpointState,
    deployment: Deployment,
    launches: Mapping[str, VariantLaunch],
    metrics: MetricsStore,
) -> None:
    for variant, replica_set in deployment.sets.items():
        processes = [state.processes[r] for r in replica_set.routable() if r in state.processes]
        if not processes:
            continue
        launch = launches.get(variant)
        memory_mb = launch.profile.memory_mb if launch is not None else None
        total_bytes = memory_mb * 2**20 if memory_mb else psutil.virtual_memory().total
        cpu = 0.0
        memory = 0.0
        for process in processes:
            used_cpu, rss = process.utilization()
            cpu += used_cpu
            memory += 100.0 * rss / total_bytes
        count = len(processes)
        metrics.record_utilization(
            state.name,
            state.metrics_key(deployment, variant),
            instances=count,
            cpu_percent=cpu / count,
            memory_percent=memory / count,
        )
