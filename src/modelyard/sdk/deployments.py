"""Safe endpoint updates from Python: blue/green ``DeploymentConfig``, rollback, metric alarms.

The official SDK has no method for these (notebooks call boto3's ``update_endpoint`` with
``DeploymentConfig`` and CloudWatch's ``put_metric_alarm``); :class:`DeploymentSessionMixin`
gives :class:`~modelyard.sdk.session.Session` the same operations with boto3's PascalCase
arguments, so the request bodies are SageMaker's and CloudWatch's own:

    session.put_metric_alarm(AlarmName="ep-5xx", MetricName="Invocation5XXErrors",
                             Statistic="Average", Period=10, EvaluationPeriods=1,
                             Threshold=0.05, ComparisonOperator="GreaterThanThreshold",
                             Dimensions=[{"Name": "EndpointName", "Value": "ep"}])
    session.update_endpoint_with_deployment_config("ep", "new-config", {...})
    session.rollback_endpoint("ep")
"""

from __future__ import annotations

from typing import Any

from modelyard.sdk.client import ApiClient
from modelyard.sdk.hosting import wait_for_endpoint


class DeploymentSessionMixin:
    """Blue/green updates, rollback and alarms (see the module doc)."""

    client: ApiClient

    def update_endpoint_with_deployment_config(
        self,
        endpoint_name: str,
        endpoint_config_name: str,
        deployment_config: dict[str, Any] | None = None,
        wait: bool = True,
        *,
        retain_deployment_config: bool = False,
        retain_all_variant_properties: bool = False,
    ) -> dict[str, Any]:
        """UpdateEndpoint with its other arguments (``update_endpoint`` keeps sagemaker's
        signature): ``deployment_config`` is SageMaker's ``DeploymentConfig``.

        With ``wait``, return once the endpoint settles; an update rolled back leaves it
        InService on its old config with a ``FailureReason``, as on SageMaker, so read
        ``EndpointConfigName`` in the description returned.
        """
        request: dict[str, Any] = {"EndpointConfigName": endpoint_config_name}
        if deployment_config is not None:
            request["DeploymentConfig"] = deployment_config
        if retain_deployment_config:
            request["RetainDeploymentConfig"] = True
        if retain_all_variant_properties:
            request["RetainAllVariantProperties"] = True
        self.client.post_json(f"/endpoints/{endpoint_name}/update", request)
        if wait:
            return wait_for_endpoint(self.client, endpoint_name)
        found: dict[str, Any] = self.client.get_json(f"/endpoints/{endpoint_name}")
        return found

    def rollback_endpoint(self, endpoint_name: str, wait: bool = True) -> dict[str, Any]:
        """Back to the previous config (modelyard's): at once during an update (its old fleet
        is warm until the bake ends), else by redeploying it. With ``wait``, return once
        the endpoint is InService again. The answer names the config and ``RollbackType``."""
        answer: dict[str, Any] = self.client.post_json(f"/endpoints/{endpoint_name}/rollback")
        if wait:
            wait_for_endpoint(self.client, endpoint_name)
        return answer

    def put_metric_alarm(self, **request: Any) -> dict[str, Any]:
        """CloudWatch's PutMetricAlarm (PascalCase arguments); the alarm with its state now."""
        name = request.get("AlarmName")
        if not name:
            raise ValueError("put_metric_alarm needs AlarmName")
        found: dict[str, Any] = self.client.request("PUT", f"/alarms/{name}", json=request).json()
        return found

    def describe_alarms(
        self,
        AlarmNames: list[str] | None = None,  # noqa: N803  # boto3's argument names
        AlarmNamePrefix: str | None = None,  # noqa: N803
        StateValue: str | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        """CloudWatch's DescribeAlarms: ``{"MetricAlarms": [...]}``, states evaluated now."""
        found: dict[str, Any] = self.client.get_json(
            "/alarms", AlarmNamePrefix=AlarmNamePrefix, StateValue=StateValue
        )
        if AlarmNames is not None:
            found["MetricAlarms"] = [
                a for a in found["MetricAlarms"] if a["AlarmName"] in AlarmNames
            ]
        return found

    def delete_alarms(self, AlarmNames: list[str]) -> None:  # noqa: N803
        """CloudWatch's DeleteAlarms."""
        for name in AlarmNames:
            self.client.delete(f"/alarms/{name}")
