"""``/models``: SageMaker's model operations over HTTP (CreateModel, DescribeModel, ...).

Every rule lives in :class:`modelyard.hosting.ModelRegistry`.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelyard.api.routes.resources import ResourceRoutes, definition_filters

router = APIRouter()

models = ResourceRoutes(router, "/models", "Model", lambda services: services.endpoints.models)
models.create('CreateModel: ``{"ModelArn"}``.', example={"ModelName": "my-model"})
models.list("ListModels: ``Models`` (and ``NextToken``).", filters=definition_filters)
models.describe("DescribeModel.")
models.delete("DeleteModel (endpoints serving it keep serving).")
