"""Runtimes by name, imported lazily: ``get_runtime(settings)``.

Only the chosen backend is imported, so a missing optional dependency of another
backend (Ray, Docker) never breaks the default one. ``local`` is the default.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from modelyard.config import Settings
from modelyard.errors import ValidationError
from modelyard.runtime.base import Runtime


def _local(settings: Settings) -> Runtime:
    module = importlib.import_module("modelyard.runtime.local")
    runtime: Runtime = module.LocalProcessRuntime(settings.run_dir / "containers")
    return runtime


#: Factories by runtime name; each imports its backend only when called.
RUNTIMES: dict[str, Callable[[Settings], Runtime]] = {"local": _local}


def get_runtime(settings: Settings, name: str | None = None) -> Runtime:
    """The runtime named ``name`` (default: the settings' choice, else ``local``)."""
    chosen = name or settings.runtime_backend
    try:
        factory = RUNTIMES[chosen]
    except KeyError:
        raise ValidationError(
            f"unknown runtime {chosen!r}: choose one of {', '.join(sorted(RUNTIMES))}",
            field="runtime_backend",
        ) from None
    return factory(settings)
