"""Real-time endpoints: models, endpoint configs, endpoints, and the router in front of them.

``EndpointController`` (:mod:`.endpoints`) owns the lifecycle and heals replicas;
``Router`` (:mod:`.router`) answers ``POST /endpoints/{name}/invocations`` through the
raw ASGI front door of :mod:`.router_asgi`; replica processes are touched only by
:mod:`.replicas`. Beside the hot path: data capture (:mod:`.capture`), shadow variants
(:mod:`.shadow`) and metrics (:mod:`.metrics`). Autoscaling (:mod:`.autoscaling`)
changes a variant's replica count by Application Auto Scaling's target tracking.
"""

from modelyard.hosting.autoscaling import AutoscalingController
from modelyard.hosting.endpoint_configs import EndpointConfigRegistry
from modelyard.hosting.endpoints import EndpointController
from modelyard.hosting.metrics import METRIC_NAMES, MetricsStore
from modelyard.hosting.models import ModelRegistry
from modelyard.hosting.replica_set import Health, HealthPolicy, Probe, ReplicaSet
from modelyard.hosting.router import Invocation, Router
from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, RoutingTable, VariantRoute

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
