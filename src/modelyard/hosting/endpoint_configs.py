"""Endpoint configs: CreateEndpointConfig / Describe / List / Delete, in SageMaker's shapes.

An endpoint config names production variants (1-10: model, instance type, initial
instance count, initial weight), optionally one shadow variant, and data capture.
Checked at create time (botocore's ``CreateEndpointConfigInput``, then):

- variant names are unique across production and shadow variants; every variant's
  model exists; ``InstanceType`` is one of :mod:`modelyard.jobs.instance_types`
  (``local`` = this machine, unlimited) and defaults to ``local``;
  ``InitialInstanceCount`` defaults to 1 and ``InitialVariantWeight`` to 1.0;
- shadow variants: at most one, and then exactly one production variant (SageMaker's
  rule); the shadow gets a copy of ``min(1, shadow weight / production weight)`` of the
  production requests (equal weights: every request);
- ``DataCaptureConfig``: ``EnableCapture`` defaults to true, the destination's bucket must
  exist, ``CaptureContentTypeHeader`` defaults to CSV ``text/csv`` and JSON
  ``application/json``;
- not supported (400): ``ServerlessConfig``, ``AsyncInferenceConfig``, ``ExplainerConfig``,
  ``InstancePools``, ``AcceleratorType``.
"""

from __future__ import annotations

import copy
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import AlreadyExistsError, NotFoundError, ValidationError
from modelyard.hosting.models import ModelRegistry
from modelyard.hosting.routing import CaptureSettings
from modelyard.ids import ResourceKind, validate_name
from modelyard.jobs.instance_types import instance_profile
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.store.base import Store
from modelyard.store.uri import parse_s3_uri

KIND = ResourceKind.ENDPOINT_CONFIG
DEFAULT_CSV_TYPES = ["text/csv"]
DEFAULT_JSON_TYPES = ["application/json"]

_VARIANT_PATHS = ("ProductionVariants[]", "ShadowProductionVariants[]")
_RELAXED = Relaxed(
    ignore=frozenset({"ExecutionRoleArn", "VpcConfig", "KmsKeyId", "DataCaptureConfig.KmsKeyId"}),
    no_enum=frozenset(f"{p}.InstanceType" for p in _VARIANT_PATHS),
)
_UNSUPPORTED_VARIANT_FIELDS = {
    "ServerlessConfig": "serverless inference is not supported: give InstanceType and "
    "InitialInstanceCount",
    "InstancePools": "give one InstanceType",
    "AcceleratorType": "Elastic Inference was retired by AWS; give an InstanceType",
}
_UNSUPPORTED_FIELDS = {
    "AsyncInferenceConfig": "asynchronous inference is not supported yet",
    "ExplainerConfig": "online explainability is not supported yet",
}


def variants_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("ProductionVariants") or [])


def shadow_variants_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("ShadowProductionVariants") or [])


def capture_settings(spec: dict[str, Any]) -> CaptureSettings | None:
    """The config's data capture for the router, or None when it is off."""
    config = spec.get("DataCaptureConfig")
    if not config or not config.get("EnableCapture", True):
        return None
    modes = {option["CaptureMode"] for option in config.get("CaptureOptions") or []}
    header = config.get("CaptureContentTypeHeader") or {}
    return CaptureSettings(
        destination=config["DestinationS3Uri"],
        sampling_fraction=float(config["InitialSamplingPercentage"]) / 100.0,
        capture_input=bool(modes & {"Input", "InputAndOutput"}),
        capture_output=bool(modes & {"Output", "InputAndOutput"}),
        csv_content_types=frozenset(t.lower() for t in header.get("CsvContentTypes") or ()),
        json_content_types=frozenset(t.lower() for t in header.get("JsonContentTypes") or ()),
    )


def shadow_fraction(spec: dict[str, Any]) -> float:
    """The share of production requests the shadow variant gets a copy of."""
    shadows = shadow_variants_of(spec)
    if not shadows:
        return 0.0
    production = sum(float(v.get("InitialVariantWeight", 1.0)) for v in variants_of(spec))
    weight = float(shadows[0].get("InitialVariantWeight", 1.0))
    if production <= 0:
        return 1.0 if weight > 0 else 0.0
    return min(1.0, weight / production)


class EndpointConfigRegistry:
    """The endpoint config resources of the catalog (see the module doc)."""

    def __init__(self, catalog: Catalog, store: Store, models: ModelRegistry) -> None:
        self.catalog = catalog
        self.store = store
        self.models = models

    def create(self, body: object) -> ResourceRecord:
        spec = self.validate(body)
        name = spec["EndpointConfigName"]
        try:
            return self.catalog.create(KIND, name, spec=spec)
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"Cannot create already existing endpoint configuration {name!r}",
                field="EndpointConfigName",
            ) from exc

    def validate(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        validate_request("CreateEndpointConfigInput", body, _RELAXED)
        spec: dict[str, Any] = copy.deepcopy(body)
        validate_name(spec["EndpointConfigName"], KIND, field="EndpointConfigName")
        for key, hint in _UNSUPPORTED_FIELDS.items():
            if spec.get(key):
                raise ValidationError(f"{key} is not supported: {hint}", field=key)
        seen: set[str] = set()
        for group in ("ProductionVariants", "ShadowProductionVariants"):
            for index, variant in enumerate(spec.get(group) or []):
                self._check_variant(variant, f"{group}.{index}", seen)
        shadows = shadow_variants_of(spec)
        if len(shadows) > 1:
            raise ValidationError(
                "at most one shadow variant is supported", field="ShadowProductionVariants"
            )
        if shadows and len(variants_of(spec)) != 1:
            raise ValidationError(
                "an endpoint config with a shadow variant has exactly one production variant",
                field="ProductionVariants",
            )
        capture = spec.get("DataCaptureConfig")
        if capture:
            self._check_capture(capture)
        return spec

    def _check_variant(self, variant: dict[str, Any], where: str, seen: set[str]) -> None:
        name = variant["VariantName"]
        if name in seen:
            raise ValidationError(
                f"{where}.VariantName: {name!r} is used twice", field=f"{where}.VariantName"
            )
        seen.add(name)
        for key, hint in _UNSUPPORTED_VARIANT_FIELDS.items():
            if variant.get(key):
                raise ValidationError(
                    f"{where}.{key} is not supported: {hint}", field=f"{where}.{key}"
                )
        model = variant.get("ModelName")
        if not model:
            raise ValidationError(f"{where}.ModelName is required", field=f"{where}.ModelName")
        try:
            self.models.get(model)
        except NotFoundError as exc:
            raise ValidationError(
                f"{where}.ModelName: Could not find model {model!r}", field=f"{where}.ModelName"
            ) from exc
        variant.setdefault("InstanceType", "local")
        instance_profile(variant["InstanceType"], field=f"{where}.InstanceType")
        variant.setdefault("InitialInstanceCount", 1)
        variant.setdefault("InitialVariantWeight", 1.0)

    def _check_capture(self, capture: dict[str, Any]) -> None:
        capture.setdefault("EnableCapture", True)
        uri = capture["DestinationS3Uri"]
        location = parse_s3_uri(uri, field="DataCaptureConfig.DestinationS3Uri")
        if not self.store.bucket_exists(location.bucket):
            raise ValidationError(
                f"DataCaptureConfig.DestinationS3Uri={uri!r}: the bucket {location.bucket!r} "
                "does not exist; create it first",
                field="DataCaptureConfig.DestinationS3Uri",
            )
        header = capture.setdefault("CaptureContentTypeHeader", {})
        header.setdefault("CsvContentTypes", list(DEFAULT_CSV_TYPES))
        header.setdefault("JsonContentTypes", list(DEFAULT_JSON_TYPES))

    def get(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError as exc:
            raise NotFoundError(
                f"Could not find endpoint configuration {name!r}", field="EndpointConfigName"
            ) from exc

    def describe(self, name: str) -> dict[str, Any]:
        return describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": r.name,
                    "EndpointConfigArn": r.arn,
                    "CreationTime": r.created_at,
                }
                for r in page.records
            ]
        }
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def delete(self, name: str) -> None:
        self.get(name)
        self.catalog.delete(KIND, name)


def describe(record: ResourceRecord) -> dict[str, Any]:
    """DescribeEndpointConfig's response."""
    spec = record.spec
    body: dict[str, Any] = {
        "EndpointConfigName": record.name,
        "EndpointConfigArn": record.arn,
        "ProductionVariants": spec["ProductionVariants"],
    }
    for key in ("DataCaptureConfig", "ShadowProductionVariants", "KmsKeyId", "ExecutionRoleArn"):
        if spec.get(key) is not None:
            body[key] = spec[key]
    body["CreationTime"] = record.created_at
    return body
