"""``/edge-packaging-jobs`` (SageMaker's edge packaging operations) and ``/edge/signing-keys``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from modelyard.api.deps import ServicesDep
from modelyard.api.routes.resources import ResourceRoutes, status_filters

router = APIRouter()

jobs = ResourceRoutes(
    router, "/edge-packaging-jobs", "EdgePackagingJob", lambda services: services.edge.packaging
)
jobs.create("CreateEdgePackagingJob (answers the job's ARN; SageMaker answers nothing).")
jobs.list("ListEdgePackagingJobs.", filters=status_filters)
jobs.describe("DescribeEdgePackagingJob (with ``PackageSha256`` and the manifest).")
jobs.stop()


@router.post("/edge/signing-keys", status_code=201)
def create_signing_key(services: ServicesDep, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """A new Ed25519 key ``{"KeyName"}``; answers its public key (give it to devices)."""
    name = str(body.get("KeyName", ""))
    return {"KeyName": name, "PublicKey": services.edge.packaging.keys.create(name)}


@router.get("/edge/signing-keys")
def list_signing_keys(services: ServicesDep) -> dict[str, Any]:
    return {"SigningKeys": services.edge.packaging.keys.list()}
