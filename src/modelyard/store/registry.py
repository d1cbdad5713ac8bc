"""Store backends by name, imported only when chosen.

``MODELYARD_STORE_BACKEND`` names one of them. Importing :mod:`modelyard.store`
imports no backend, so a process using the local store never loads s3fs.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from modelyard.config import Settings
from modelyard.errors import ValidationError
from modelyard.store.base import Store


class StoreFactory(Protocol):
    def from_settings(self, settings: Settings) -> Store: ...


#: name -> "module:class" of a Store subclass with a ``from_settings`` classmethod.
_BACKENDS: dict[str, str] = {
    "local": "modelyard.store.local:LocalStore",
    "s3": "modelyard.store.s3:S3Store",
}


def register_backend(name: str, target: str) -> None:
    """Make ``target`` (``"package.module:Class"``) the backend called ``name``."""
    if ":" not in target:
        raise ValueError(f"backend target {target!r} must look like 'package.module:Class'")
    _BACKENDS[name] = target


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def get_store(settings: Settings) -> Store:
    """The store ``settings.store_backend`` names, built from the settings."""
    name = settings.store_backend
    target = _BACKENDS.get(name)
    if target is None:
        raise ValidationError(
            f"store_backend={name!r} is unknown: use one of {', '.join(backend_names())}",
            field="store_backend",
        )
    module_name, _, class_name = target.partition(":")
    factory: StoreFactory = getattr(importlib.import_module(module_name), class_name)
    return factory.from_settings(settings)
