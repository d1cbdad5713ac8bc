"""Models: CreateModel / DescribeModel / ListModels / DeleteModel, in SageMaker's shapes.

A model is image(s) + model data + environment: a ``PrimaryContainer``, or
``Containers`` (1-15; two or more form an inference pipeline, run in order). Checked at
create time, so an endpoint never fails on what could have been refused:

- the request's shape (botocore's ``CreateModelInput``; ``ExecutionRoleArn`` accepted
  and ignored, as there is no IAM here);
- each container's ``Image`` is a modelyard image (``sklearn:1.5``; see
  ``modelyard images list``); ``ModelDataUrl`` is an ``s3://`` object that exists;
  ``SAGEMAKER_SUBMIT_DIRECTORY`` is an ``s3://`` bundle that exists (or a local
  directory, or ``/opt/ml/model/code``);
- not supported (400, naming the field): ``Mode: MultiModel``, ``ModelPackageName``,
  ``ModelDataSource``, ``AdditionalModelDataSources``, ``InferenceExecutionConfig.Mode:
  Direct``.

A model has no lifecycle (its catalog status is ``Created``); deleting it does not
touch endpoints already serving it (they keep a copy of its spec, as SageMaker's do).
"""

from __future__ import annotations

import copy
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import AlreadyExistsError, NotFoundError, ValidationError
from modelyard.hosting.model_data import IN_MODEL_CODE
from modelyard.ids import ResourceKind, validate_name
from modelyard.images.registry import ImageRegistry
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.store.base import Store
from modelyard.store.uri import is_s3_uri, parse_s3_uri

KIND = ResourceKind.MODEL
MAX_CONTAINERS = 15

_RELAXED = Relaxed(ignore=frozenset({"ExecutionRoleArn", "VpcConfig"}))

_UNSUPPORTED = {
    "ModelPackageName": "deploy a model package through its containers instead",
    "ModelDataSource": "give ModelDataUrl (an s3:// model.tar.gz)",
    "AdditionalModelDataSources": "put every file the model needs in its model.tar.gz",
    "MultiModelConfig": "multi-model endpoints are not supported yet",
}


def containers_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's containers in order (the primary one alone, or the pipeline)."""
    if spec.get("PrimaryContainer"):
        return [spec["PrimaryContainer"]]
    return list(spec.get("Containers") or [])


def model_version(record: ResourceRecord) -> str:
    """A key of this very model (a re-created model of the same name gets another)."""
    return record.created_at.strftime("%Y%m%d%H%M%S%f")


class ModelRegistry:
    """The model resources of the catalog (see the module doc)."""

    def __init__(self, catalog: Catalog, store: Store, images: ImageRegistry) -> None:
        self.catalog = catalog
        self.store = store
        self.images = images

    def create(self, body: object) -> ResourceRecord:
        spec = self.validate(body)
        name = spec["ModelName"]
        try:
            return self.catalog.create(KIND, name, spec=spec)
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"Cannot create already existing model {name!r}", field="ModelName"
            ) from exc

    def validate(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        validate_request("CreateModelInput", body, _RELAXED)
        spec: dict[str, Any] = copy.deepcopy(body)
        validate_name(spec["ModelName"], KIND, field="ModelName")
        primary, listed = spec.get("PrimaryContainer"), spec.get("Containers")
        if bool(primary) == bool(listed):
            raise ValidationError(
                "give exactly one of PrimaryContainer (one container) or Containers "
                f"(1-{MAX_CONTAINERS}, an inference pipeline)",
                field="PrimaryContainer",
            )
        execution = spec.get("InferenceExecutionConfig")
        if execution and execution.get("Mode") == "Direct":
            raise ValidationError(
                "InferenceExecutionConfig.Mode=Direct is not supported: containers run in "
                "order (Serial)",
                field="InferenceExecutionConfig.Mode",
            )
        prefix = "PrimaryContainer" if primary else "Containers"
        for index, container in enumerate(containers_of(spec)):
            where = prefix if primary else f"{prefix}.{index}"
            self._check_container(container, where)
        return spec

    def _check_container(self, container: dict[str, Any], where: str) -> None:
        for key, hint in _UNSUPPORTED.items():
            if container.get(key):
                raise ValidationError(
                    f"{where}.{key} is not supported: {hint}", field=f"{where}.{key}"
                )
        if container.get("Mode") == "MultiModel":
            raise ValidationError(
                f"{where}.Mode=MultiModel is not supported yet: use SingleModel",
                field=f"{where}.Mode",
            )
        image = container.get("Image")
        if not image:
            raise ValidationError(
                f"{where}.Image is required: a modelyard image name:tag (see 'modelyard images "
                "list')",
                field=f"{where}.Image",
            )
        try:
            self.images.get(image)
        except (NotFoundError, ValidationError) as exc:
            raise ValidationError(
                f"{where}.Image={image!r}: no such image ({exc.message}); see 'modelyard images "
                "list'",
                field=f"{where}.Image",
            ) from exc
        url = container.get("ModelDataUrl")
        if url:
            self._check_object(url, f"{where}.ModelDataUrl")
        environment = container.get("Environment") or {}
        submit = str(environment.get("SAGEMAKER_SUBMIT_DIRECTORY") or "")
        if is_s3_uri(submit):
            self._check_object(submit, f"{where}.Environment.SAGEMAKER_SUBMIT_DIRECTORY")
        elif (
            submit
            and submit.rstrip("/") != IN_MODEL_CODE
            and not submit.startswith(("/", "file://"))
        ):
            raise ValidationError(
                f"{where}.Environment.SAGEMAKER_SUBMIT_DIRECTORY={submit!r}: give an s3:// "
                f"sourcedir.tar.gz, a local directory, or {IN_MODEL_CODE}",
                field=f"{where}.Environment.SAGEMAKER_SUBMIT_DIRECTORY",
            )

    def _check_object(self, uri: str, field: str) -> None:
        location = parse_s3_uri(uri, field=field)
        try:
            self.store.head_object(location.bucket, location.key)
        except (NotFoundError, ValidationError) as exc:
            raise ValidationError(
                f"{field}: could not find model data at {uri} ({exc.message})", field=field
            ) from exc

    def get(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError as exc:
            raise NotFoundError(f"Could not find model {name!r}", field="ModelName") from exc

    def describe(self, name: str) -> dict[str, Any]:
        return describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {
            "Models": [
                {"ModelName": r.name, "ModelArn": r.arn, "CreationTime": r.created_at}
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
    """DescribeModel's response."""
    spec = record.spec
    body: dict[str, Any] = {"ModelName": record.name, "ModelArn": record.arn}
    for key in ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn"):
        if spec.get(key) is not None:
            body[key] = spec[key]
    body["CreationTime"] = record.created_at
    body["EnableNetworkIsolation"] = bool(spec.get("EnableNetworkIsolation", False))
    return body
