"""Talking to the control plane over HTTP (urllib only), and never blocking serving.

Routes (modelyard's API): ``POST /edge/devices/{device}/heartbeat`` (registers the
device in its fleet on first contact), ``POST /edge/devices/{device}/captures``,
``GET /edge/fleets/{fleet}/deployment`` (the approved package: ``PackageUri``,
``ModelVersion``, ``PackageSha256``) and the objects API to download it. With a token,
every request carries ``Authorization: Bearer <token>``. Every failure becomes
:class:`ControlPlaneUnavailable`: the agent logs it and retries with backoff.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


class ControlPlaneUnavailableError(Exception):
    """The control plane did not answer, or answered with an error."""


class ControlPlane:
    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def _open(self, method: str, path: str, body: Any = None) -> Any:
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body, default=str).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            exc.close()
            raise ControlPlaneUnavailableError(
                f"{method} {path}: HTTP {exc.code}: {detail}"
            ) from exc
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise ControlPlaneUnavailableError(f"{method} {path}: {exc}") from exc

    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        with self._open(method, path, body) as response:
            raw = response.read()
        if not raw:
            return {}
        try:
            found: dict[str, Any] = json.loads(raw)
        except ValueError as exc:
            raise ControlPlaneUnavailableError(f"{method} {path}: not JSON") from exc
        return found

    def heartbeat(self, device: str, report: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/edge/devices/{_quote(device)}/heartbeat", report)

    def upload_captures(self, device: str, records: list[dict[str, Any]], dropped: int) -> None:
        self._json(
            "POST",
            f"/edge/devices/{_quote(device)}/captures",
            {"Records": records, "DroppedRecords": dropped},
        )

    def deployment(self, fleet: str) -> dict[str, Any] | None:
        found = self._json("GET", f"/edge/fleets/{_quote(fleet)}/deployment")
        return found if found.get("PackageUri") else None

    def download(self, uri: str, target: Path, expected_sha256: str | None = None) -> Path:
        """Fetch ``s3://bucket/key`` through the objects API; checks the sha256 if given."""
        parsed = urllib.parse.urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ControlPlaneUnavailableError(f"{uri!r} is not an s3:// URI")
        key = urllib.parse.quote(parsed.path.lstrip("/"))
        path = f"/buckets/{_quote(parsed.netloc)}/objects/{key}"
        partial = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        try:
            with self._open("GET", path) as response, partial.open("wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ControlPlaneUnavailableError(f"download of {uri} failed: {exc}") from exc
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            partial.unlink(missing_ok=True)
            raise ControlPlaneUnavailableError(
                f"download of {uri} has sha256 {digest.hexdigest()[:16]}..., "
                f"the deployment says {expected_sha256[:16]}..."
            )
        shutil.move(str(partial), str(target))
        return target


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


class Backoff:
    """Exponential backoff with jitter between ``base_s`` and ``max_s``."""

    def __init__(self, base_s: float = 1.0, max_s: float = 300.0) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.failures = 0

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> float:
        """Record a failure; the delay before the next try."""
        self.failures += 1
        delay: float = min(self.max_s, self.base_s * 2.0 ** min(self.failures - 1, 20))
        return delay * (0.5 + random.random() / 2)
