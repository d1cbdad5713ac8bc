"""modelyard: SageMaker's workflow on your own machines.

The package root stays import-light on purpose: images install only
``modelyard.container`` and ``modelyard.formats`` beside it, so nothing here may
import a dependency. ``modelyard.Session`` is resolved on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Session", "TrainingInput", "__version__", "get_execution_role"]

if TYPE_CHECKING:
    from modelyard.sdk.estimator import get_execution_role
    from modelyard.sdk.inputs import TrainingInput
    from modelyard.sdk.session import Session


def __getattr__(name: str) -> Any:
    if name == "Session":
        from modelyard.sdk.session import Session

        return Session
    if name == "TrainingInput":
        from modelyard.sdk.inputs import TrainingInput

        return TrainingInput
    if name == "get_execution_role":
        from modelyard.sdk.estimator import get_execution_role

        return get_execution_role
    raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
