"""What one endpoint runs: deployments of endpoint configs, and their replicas.

A :class:`Deployment` is one endpoint config as deployed: a snapshot of the config
and of its models (so deleting them later does not break the endpoint, as in
SageMaker), a :class:`~.replica_set.ReplicaSet` per variant (production and shadow),
each variant's desired count and current weight. An :class:`EndpointState` holds the
``active`` deployment (serving), a ``pending`` one (CreateEndpoint / UpdateEndpoint in
progress), ``retiring`` ones (replaced, their replicas stopping) and the live replica
processes.

The catalog keeps, in the endpoint's ``state``:

    {"Active": <deployment>, "Pending": <deployment> | null,
     "Replicas": {<replica id>: {"DeploymentId", "VariantName", "HandleId", "LaunchedAt"}},
     "Rollout": <an update's progress, :class:`~.deployment.Rollout`> | null,
     "Previous": <the deployment an update replaced, for a manual rollback> | null,
     "LastDeploymentConfig": <DeploymentConfig> | null, "DeploymentHistory": [...]}

with ``<deployment>`` = ``{"DeploymentId", "EndpointConfigName", "Config", "Models":
{<name>: {"Spec", "Version"}}, "Variants": {<variant>: {"DesiredInstanceCount",
"DesiredWeight"}}, "StartTime"}``. A replica's entry is written before its launch
(``HandleId`` null) and completed after, so a restart finds every process
(:meth:`modelyard.hosting.endpoints.EndpointController.reconcile`).

While an update's traffic shifts (:mod:`.deployment`), the route holds both fleets'
production variants, each fleet's weights scaled to its share. Both configs may name a
variant ``AllTraffic``: answers name the variant as its config does, but the new
fleet's metrics are recorded under ``<VariantName>@<DeploymentId>`` until it is promoted,
so its alarms see its traffic alone. The shadow variant and data capture stay the active
config's until then.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.hosting.deployment import Rollout
from modelyard.hosting.endpoint_configs import (
    capture_settings,
    shadow_fraction,
    shadow_variants_of,
    variants_of,
)
from modelyard.hosting.replica_set import HealthPolicy, ReplicaSet
from modelyard.hosting.replicas import ContainerLaunch, ReplicaProcess
from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, ShadowRoute, VariantRoute
from modelyard.jobs.instance_types import InstanceProfile


@dataclass(frozen=True)
class VariantLaunch:
    """What a variant's replicas are launched with (prepared once per deployment).

    For an inference pipeline, ``containers`` lists every container in order and the
    other fields describe the first one.
    """

    image_root: Path
    base_dir: Path
    environment: dict[str, str]
    profile: InstanceProfile
    image: str
    containers: tuple[ContainerLaunch, ...] = ()


@dataclass
class Deployment:
    """One endpoint config as deployed (see the module doc)."""

    deployment_id: str
    config_name: str
    config: dict[str, Any]
    models: dict[str, dict[str, Any]]
    desired: dict[str, int]
    weights: dict[str, float]
    start_time: str
    sets: dict[str, ReplicaSet] = field(default_factory=dict)
    launches: dict[str, VariantLaunch] | None = None
    preparing: Future[dict[str, VariantLaunch]] | None = None
    failure: str | None = None

    @classmethod
    def new(
        cls,
        config_name: str,
        config: dict[str, Any],
        models: dict[str, dict[str, Any]],
        start_time: str,
    ) -> Deployment:
        desired = {
            v["VariantName"]: int(v.get("InitialInstanceCount", 1))
            for v in variants_of(config) + shadow_variants_of(config)
        }
        weights = {
            v["VariantName"]: float(v.get("InitialVariantWeight", 1.0))
            for v in variants_of(config) + shadow_variants_of(config)
        }
        return cls(uuid.uuid4().hex[:12], config_name, config, models, desired, weights, start_time)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Deployment:
        variants = data.get("Variants") or {}
        return cls(
            deployment_id=data["DeploymentId"],
            config_name=data["EndpointConfigName"],
            config=data["Config"],
            models=data["Models"],
            desired={k: int(v["DesiredInstanceCount"]) for k, v in variants.items()},
            weights={k: float(v["DesiredWeight"]) for k, v in variants.items()},
            start_time=data.get("StartTime", ""),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "DeploymentId": self.deployment_id,
            "EndpointConfigName": self.config_name,
            "Config": self.config,
            "Models": self.models,
            "Variants": {
                name: {"DesiredInstanceCount": count, "DesiredWeight": self.weights[name]}
                for name, count in self.desired.items()
            },
            "StartTime": self.start_time,
        }

    def build_sets(self, policy: HealthPolicy) -> None:
        for variant in self.variant_specs():
            name = variant["VariantName"]
            timeout = variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
            variant_policy = (
                HealthPolicy(
                    period_s=policy.period_s,
                    unhealthy_threshold=policy.unhealthy_threshold,
                    startup_timeout_s=float(timeout),
                    startup_probe_interval_s=policy.startup_probe_interval_s,
                    max_startup_failures=policy.max_startup_failures,
                )
                if timeout
                else policy
            )
            self.sets[name] = ReplicaSet(name, self.desired[name], variant_policy)

    def variant_specs(self) -> list[dict[str, Any]]:
        return variants_of(self.config) + shadow_variants_of(self.config)

    def production_names(self) -> list[str]:
        return [v["VariantName"] for v in variants_of(self.config)]

    def shadow_name(self) -> str | None:
        shadows = shadow_variants_of(self.config)
        return str(shadows[0]["VariantName"]) if shadows else None

    @property
    def failure_reason(self) -> str | None:
        if self.failure:
            return self.failure
        for replica_set in self.sets.values():
            if replica_set.failure_reason:
                return replica_set.failure_reason
        return None

    @property
    def is_up(self) -> bool:
        return bool(self.sets) and all(s.is_up for s in self.sets.values())


@dataclass
class EndpointState:
    """An endpoint as the controller runs it."""

    name: str
    active: Deployment | None = None
    pending: Deployment | None = None
    retiring: list[Deployment] = field(default_factory=list)
    processes: dict[str, ReplicaProcess] = field(default_factory=dict)
    #: replica id -> (deployment id, variant): every replica of every deployment.
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    launched_at: dict[str, str] = field(default_factory=dict)
    deleting: bool = False
    published: EndpointRoute | None = None
    #: the progress of an update (``pending`` beside ``active``), None otherwise.
    rollout: Rollout | None = None

    def deployments(self) -> list[Deployment]:
        found = [d for d in (self.active, self.pending) if d is not None]
        return found + self.retiring

    def deployment(self, deployment_id: str) -> Deployment | None:
        for deployment in self.deployments():
            if deployment.deployment_id == deployment_id:
                return deployment
        return None

    def replicas_state(self) -> dict[str, dict[str, Any]]:
        """The catalog's ``Replicas`` entry."""
        return {
            replica_id: {
                "DeploymentId": deployment_id,
                "VariantName": variant,
                "HandleId": self.processes[replica_id].handle_id
                if replica_id in self.processes
                else None,
                "LaunchedAt": self.launched_at.get(replica_id),
            }
            for replica_id, (deployment_id, variant) in self.owners.items()
        }

    def metrics_key(self, deployment: Deployment, variant: str) -> str:
        """The key a variant's metrics are recorded under (see the module doc)."""
        if deployment is self.pending and self.active is not None:
            return f"{variant}@{deployment.deployment_id}"
        return variant

    def fleet(self, deployment: Deployment) -> dict[str, str]:
        """Production variant -> the key its metrics are recorded under."""
        return {name: self.metrics_key(deployment, name) for name in deployment.production_names()}

    def route(self) -> EndpointRoute | None:
        """The router's view: the active deployment, and the new one's share during an update."""
        active = self.active
        if active is None or self.deleting:
            return None
        share = self.rollout.new_share if self.rollout is not None else 0.0
        fleets = [(active, 1.0 - share)] if share < 1.0 else []
        if share > 0.0 and self.pending is not None:
            fleets.append((self.pending, share))

        def variant_route(
            deployment: Deployment, name: str, weight: float, key: str
        ) -> VariantRoute:
            replica_set = deployment.sets.get(name)
            targets: list[ReplicaTarget] = []
            if replica_set is not None:
                for replica_id in replica_set.routable():
                    process = self.processes.get(replica_id)
                    if process is not None:
                        targets.append(process.target)
            return VariantRoute(name, weight, tuple(targets), "" if key == name else key)

        variants: list[VariantRoute] = []
        for deployment, fleet_share in fleets:
            names = deployment.production_names()
            keys = self.fleet(deployment)
            total = sum(max(0.0, deployment.weights.get(n, 1.0)) for n in names)
            for name in names:
                weight = deployment.weights.get(name, 1.0)
                if len(fleets) > 1:
                    weight = weight / total * fleet_share if total > 0 else fleet_share / len(names)
                variants.append(variant_route(deployment, name, weight, keys[name]))
        shadow_name = active.shadow_name()
        shadow = (
            ShadowRoute(
                variant_route(
                    active, shadow_name, active.weights.get(shadow_name, 1.0), shadow_name
                ),
                shadow_fraction(active.config),
            )
            if shadow_name
            else None
        )
        return EndpointRoute(
            name=self.name,
            variants=tuple(variants),
            shadow=shadow,
            capture=capture_settings(active.config),
        )
