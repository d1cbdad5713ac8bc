"""A model's files on this machine, laid out as a serving container expects them.

For each container of a model, ``<root>/<model>-<version>/<index>/`` becomes the
replica's ``SAGEMAKER_BASE_DIR``:

- ``model/``: the ``ModelDataUrl`` archive (``model.tar.gz``) extracted with
  :func:`modelyard.container.archive.safe_extract` (absolute paths, ``..``, links out
  and device files are refused, naming the member);
- ``model/code/``: the ``SAGEMAKER_SUBMIT_DIRECTORY`` bundle (``sourcedir.tar.gz`` in
  the store, or a local directory), where SageMaker's framework containers look for
  ``SAGEMAKER_PROGRAM``. A submit directory of ``/opt/ml/model/code`` means the code is
  in the model archive already.

The directory is built aside and renamed into place, once per model version, and
shared read-only by every replica of every endpoint using that model; ``version`` is
the model's creation time, so a model re-created under the same name gets new files.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.container.archive import safe_extract
from modelyard.container.errors import UserError
from modelyard.errors import ModelyardError, ValidationError
from modelyard.store.base import Store
from modelyard.store.transfer import download_file
from modelyard.store.uri import is_s3_uri

COMPLETE_MARKER = ".complete"
IN_MODEL_CODE = "/opt/ml/model/code"


class ModelDataError(ValidationError):
    """The model's files cannot be fetched or are unsafe: the endpoint fails with this."""


class ModelData:
    """Fetches and lays out model files under ``root`` (see the module doc)."""

    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.root = root
        self._lock = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}

    def base_dir(self, model: str, version: str, index: int) -> Path:
        return self.root / f"{model}-{version}" / str(index)

    def prepare(self, model: str, version: str, index: int, container: Mapping[str, Any]) -> Path:
        """The container's base directory, fetched if not already there."""
        base = self.base_dir(model, version, index)
        with self._lock:
            lock = self._locks.setdefault(base, threading.Lock())
        with lock:
            if (base / COMPLETE_MARKER).is_file():
                return base
            staging = base.parent / f".{base.name}-{uuid.uuid4().hex[:8]}"
            try:
                self._fill(staging, container)
                (staging / COMPLETE_MARKER).write_text("")
                if base.exists():
                    shutil.rmtree(base)
                base.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(base)
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
        return base

    def _fill(self, staging: Path, container: Mapping[str, Any]) -> None:
        model_dir = staging / "model"
        model_dir.mkdir(parents=True)
        url = container.get("ModelDataUrl")
        if url:
            self._extract_from_store(str(url), model_dir, "ModelDataUrl")
        environment: Mapping[str, str] = container.get("Environment") or {}
        submit = (environment.get("SAGEMAKER_SUBMIT_DIRECTORY") or "").strip()
        if submit and submit.rstrip("/") != IN_MODEL_CODE:
            code_dir = model_dir / "code"
            if is_s3_uri(submit):
                self._extract_from_store(submit, code_dir, "SAGEMAKER_SUBMIT_DIRECTORY")
            else:
                local = Path(submit.removeprefix("file://"))
                if not local.is_dir():
                    raise ModelDataError(
                        f"SAGEMAKER_SUBMIT_DIRECTORY={submit!r} is neither an s3:// bundle nor "
                        "a directory on this machine",
                        field="Environment.SAGEMAKER_SUBMIT_DIRECTORY",
                    )
                shutil.copytree(local, code_dir, dirs_exist_ok=True, symlinks=False)

    def _extract_from_store(self, uri: str, into: Path, field: str) -> None:
        tarball = into.parent / f".{into.name}-{uuid.uuid4().hex[:8]}.tar.gz"
        try:
            download_file(self.store, uri, tarball)
            safe_extract(tarball, into)
        except UserError as exc:
            raise ModelDataError(f"{field} {uri}: {exc}", field=field) from exc
        except ModelyardError as exc:
            raise ModelDataError(f"{field} {uri} cannot be fetched: {exc}", field=field) from exc
        finally:
            tarball.unlink(missing_ok=True)

    def remove(self, model: str, version: str) -> None:
        """Forget a model version's files (when the model is deleted)."""
        shutil.rmtree(self.root / f"{model}-{version}", ignore_errors=True)
