"""The routes every SageMaker resource kind shares: Create*, List*, Describe*, Stop*, Delete*.

A route module builds one :class:`ResourceRoutes` (its path, SageMaker's name for the
resource, where its controller lives) and adds the operations the kind has, with the
docstring each one shows in the API's documentation; what is particular to the kind
(metrics, updates, signing keys) stays in the module as ordinary routes. The List*
query parameters (SageMaker's names, paging, filters) and the log stream are defined
here once, so every kind validates and answers them alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from modelyard.api.deps import ServicesDep
from modelyard.api.services import Services

Filters = dict[str, Any]
"""Keyword arguments of a controller's ``list_summaries`` (the catalog's List* filters)."""


def _paging(
    name_contains: Annotated[str | None, Query(alias="NameContains")] = None,
    sort_order: Annotated[Literal["Ascending", "Descending"], Query(alias="SortOrder")] = (
        "Descending"
    ),
    max_results: Annotated[int, Query(ge=1, le=100, alias="MaxResults")] = 100,
    next_token: Annotated[str | None, Query(alias="NextToken")] = None,
) -> Filters:
    return {
        "name_contains": name_contains,
        "sort_order": sort_order,
        "max_results": max_results,
        "next_token": next_token,
    }


def _status(
    status_equals: Annotated[str | None, Query(alias="StatusEquals")] = None,
    sort_by: Annotated[Literal["Name", "CreationTime", "Status"], Query(alias="SortBy")] = (
        "CreationTime"
    ),
) -> Filters:
    return {"status": status_equals, "sort_by": sort_by}


def _name_or_time_order(
    sort_by: Annotated[Literal["Name", "CreationTime"], Query(alias="SortBy")] = "CreationTime",
) -> Filters:
    return {"sort_by": sort_by}


def _created(
    creation_time_after: Annotated[datetime | None, Query(alias="CreationTimeAfter")] = None,
    creation_time_before: Annotated[datetime | None, Query(alias="CreationTimeBefore")] = None,
) -> Filters:
    return {
        "creation_time_after": creation_time_after,
        "creation_time_before": creation_time_before,
    }


def job_filters(
    paging: Annotated[Filters, Depends(_paging)],
    status: Annotated[Filters, Depends(_status)],
    created: Annotated[Filters, Depends(_created)],
) -> Filters:
    """Jobs and endpoints: ``StatusEquals``, ``SortBy`` Status too, the creation-time window."""
    return {**paging, **status, **created}


def definition_filters(
    paging: Annotated[Filters, Depends(_paging)],
    order: Annotated[Filters, Depends(_name_or_time_order)],
    created: Annotated[Filters, Depends(_created)],
) -> Filters:
    """Models and endpoint configs have no status: sorted by name or creation time only."""
    return {**paging, **order, **created}


def status_filters(
    paging: Annotated[Filters, Depends(_paging)],
    status: Annotated[Filters, Depends(_status)],
) -> Filters:
    """Kinds listed by status without a creation-time window."""
    return {**paging, **status}


def lines_response(lines: Iterable[str]) -> StreamingResponse:
    """Log lines as a text stream, sent as they come (a followed log may run for hours)."""

    def body() -> Iterator[str]:
        for line in lines:
            yield f"{line}\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")


@dataclass(frozen=True)
class ResourceRoutes:
    """The shared operations of one kind, added to ``router`` under ``path``.

    ``resource`` is SageMaker's name (``TrainingJob``): it gives the ARN's key in
    Create*'s answer (``TrainingJobArn``) and the routes' names (``create_training_job``,
    ``list_training_jobs``), which are also the OpenAPI operation ids.
    """

    router: APIRouter
    path: str
    resource: str
    controller: Callable[[Services], Any]

    @property
    def _singular(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.resource).lower()

    def create(self, description: str, example: dict[str, Any] | None = None) -> None:
        """``POST path``: the controller's ``create(body)``; answers ``{"<Resource>Arn"}``."""
        controller, arn_key = self.controller, f"{self.resource}Arn"
        examples = [example] if example is not None else None

        def handler(
            services: ServicesDep, body: dict[str, Any] = Body(..., examples=examples)
        ) -> dict[str, Any]:
            return {arn_key: controller(services).create(body).arn}

        self._add(handler, "", "POST", f"create_{self._singular}", description, 201)

    def list(self, description: str, filters: Callable[..., Filters] = job_filters) -> None:
        """``GET path``: one page of summaries, SageMaker's List* parameters as the query."""
        controller = self.controller

        def handler(services: ServicesDep, query: Filters = Depends(filters)) -> dict[str, Any]:
            summaries: dict[str, Any] = controller(services).list_summaries(**query)
            return summaries

        self._add(handler, "", "GET", f"list_{self._singular}s", description)

    def describe(self, description: str) -> None:
        """``GET path/{name}``: the controller's Describe* answer."""
        controller = self.controller

        def handler(name: str, services: ServicesDep) -> dict[str, Any]:
            described: dict[str, Any] = controller(services).describe(name)
            return described

        self._add(handler, "/{name}", "GET", f"describe_{self._singular}", description)

    def stop(self, description: str | None = None) -> None:
        """``POST path/{name}/stop``: answers ``{}`` once the stop is recorded."""
        controller = self.controller

        def handler(name: str, services: ServicesDep) -> dict[str, Any]:
            controller(services).stop(name)
            return {}

        self._add(handler, "/{name}/stop", "POST", f"stop_{self._singular}", description)

    def delete(self, description: str, *, no_content: bool = False) -> None:
        """``DELETE path/{name}``: ``{}`` (SageMaker's empty answer), or 204 with no body."""
        controller = self.controller
        name_ = f"delete_{self._singular}"
        if no_content:

            def gone(name: str, services: ServicesDep) -> None:
                controller(services).delete(name)

            self._add(gone, "/{name}", "DELETE", name_, description, 204)
            return

        def handler(name: str, services: ServicesDep) -> dict[str, Any]:
            controller(services).delete(name)
            return {}

        self._add(handler, "/{name}", "DELETE", name_, description)

    def followed_logs(self, description: str, *, by_host: bool) -> None:
        """``GET path/{name}/logs``: the job's lines, ``?follow=true`` until it ends.

        ``by_host`` kinds (several containers) take ``?host=algo-i`` for one host's lines.
        """
        controller = self.controller

        def handler(
            name: str,
            services: ServicesDep,
            follow: bool = False,
            since_line: int = Query(0, ge=0),
        ) -> StreamingResponse:
            return lines_response(
                controller(services).logs(name, follow=follow, since_line=since_line)
            )

        def by_host_handler(
            name: str,
            services: ServicesDep,
            follow: bool = False,
            since_line: int = Query(0, ge=0),
            host: str | None = None,
        ) -> StreamingResponse:
            lines = controller(services).logs(name, follow=follow, since_line=since_line, host=host)
            return lines_response(lines)

        endpoint = by_host_handler if by_host else handler
        self._add(endpoint, "/{name}/logs", "GET", f"{self._singular}_logs", description)

    def finished_logs(self, description: str) -> None:
        """``GET path/{name}/logs``: the whole log of a short job, as one text answer."""
        controller = self.controller

        def handler(name: str, services: ServicesDep) -> str:
            return "".join(f"{line}\n" for line in controller(services).logs(name))

        self.router.add_api_route(
            f"{self.path}/{{name}}/logs",
            handler,
            methods=["GET"],
            name=f"{self._singular}_logs",
            description=description,
            response_class=PlainTextResponse,
        )

    def _add(
        self,
        endpoint: Callable[..., Any],
        suffix: str,
        method: str,
        name: str,
        description: str | None,
        status_code: int | None = None,
    ) -> None:
        self.router.add_api_route(
            f"{self.path}{suffix}",
            endpoint,
            methods=[method],
            name=name,
            description=description,
            status_code=status_code,
        )
