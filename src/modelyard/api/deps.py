"""FastAPI dependencies shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from modelyard.api.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
