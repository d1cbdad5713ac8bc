"""``/endpoint-configs``: SageMaker's endpoint config operations over HTTP.

Every rule lives in :class:`modelyard.hosting.EndpointConfigRegistry`.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelyard.api.routes.resources import ResourceRoutes, definition_filters

router = APIRouter()

configs = ResourceRoutes(
    router, "/endpoint-configs", "EndpointConfig", lambda services: services.endpoints.configs
)
configs.create(
    'CreateEndpointConfig: ``{"EndpointConfigArn"}``.',
    example={"EndpointConfigName": "my-config"},
)
configs.list(
    "ListEndpointConfigs: ``EndpointConfigs`` (and ``NextToken``).", filters=definition_filters
)
configs.describe("DescribeEndpointConfig.")
configs.delete("DeleteEndpointConfig (endpoints deployed from it keep serving).")
