"""The one HTTP client of the faces (SDK and CLI) to the control plane.

Error responses are turned back into the same :mod:`modelyard.errors` classes
the server raised, so ``except NotFoundError`` works through HTTP. Transport
failures become :class:`~modelyard.errors.ServerUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from modelyard.errors import ServerUnavailableError, error_from_body

DEFAULT_TIMEOUT_S = 60.0


class ApiClient:
    """A keep-alive connection pool to one control-plane server."""

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request; a 4xx/5xx answer raises the matching ModelyardError."""
        try:
            response = self._http.request(
                method, path, json=json, params=_drop_none(params), content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise ServerUnavailableError(
                f"cannot reach the modelyard server at {self.base_url}: {exc}"
            ) from exc
        _raise_for_error(response)
        return response

    @contextmanager
    def stream(
        self, method: str, path: str, *, params: dict[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """A streamed response (large downloads, followed logs); errors raise before it."""
        try:
            with self._http.stream(method, path, params=_drop_none(params)) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_error(response)
                yield response
        except httpx.TransportError as exc:
            raise ServerUnavailableError(
                f"cannot reach the modelyard server at {self.base_url}: {exc}"
            ) from exc

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post_json(self, path: str, body: Any = None) -> Any:
        response = self.request("POST", path, json=body)
        return response.json() if response.content else None

    def delete(self, path: str, **params: Any) -> None:
        self.request("DELETE", path, params=params)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _drop_none(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"message": response.text or response.reason_phrase}}
    raise error_from_body(response.status_code, body)
