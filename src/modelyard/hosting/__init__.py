"""Real-time endpoints: models, endpoint configs, endpoints, and the router in front of them.

``EndpointController`` (:mod:`.endpoints`) owns the lifecycle and heals replicas;
``Router`` (:mod:`.router`) answers ``POST /endpoints/{name}/invocations`` through the
raw ASGI front door of :mod:`.router_asgi`; replica processes are touched only by
:mod:`.replicas`. Beside the hot path: data capture (:mod:`.capture`), shadow variants
(:mod:`.shadow`) and metrics (:mod:`.metrics`). Autoscaling (:mod:`.autoscaling`)
changes a variant's replica count by Application Auto Scaling's target tracking.

The names below are imported on first use: a process that needs one small module (a
pipeline replica's front, :mod:`.pipeline_front`) must not load every controller.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.hosting.autoscaling import AutoscalingController
    from modelyard.hosting.endpoint_configs import EndpointConfigRegistry
    from modelyard.hosting.endpoints import EndpointController
    from modelyard.hosting.metrics import METRIC_NAMES, MetricsStore
    from modelyard.hosting.models import ModelRegistry
    from modelyard.hosting.replica_set import Health, HealthPolicy, Probe, ReplicaSet
    from modelyard.hosting.router import Invocation, Router
    from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, RoutingTable, VariantRoute

_HOMES = {
    "AutoscalingController": "autoscaling",
    "EndpointConfigRegistry": "endpoint_configs",
    "EndpointController": "endpoints",
    "METRIC_NAMES": "metrics",
    "MetricsStore": "metrics",
    "ModelRegistry": "models",
    "Health": "replica_set",
    "HealthPolicy": "replica_set",
    "Probe": "replica_set",
    "ReplicaSet": "replica_set",
    "Invocation": "router",
    "Router": "router",
    "EndpointRoute": "routing",
    "ReplicaTarget": "routing",
    "RoutingTable": "routing",
    "VariantRoute": "routing",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "METRIC_NAMES",
    "AutoscalingController",
    "EndpointConfigRegistry",
    "EndpointController",
    "EndpointRoute",
    "Health",
    "HealthPolicy",
    "Invocation",
    "MetricsStore",
    "ModelRegistry",
    "Probe",
    "ReplicaSet",
    "ReplicaTarget",
    "Router",
    "RoutingTable",
    "VariantRoute",
]
