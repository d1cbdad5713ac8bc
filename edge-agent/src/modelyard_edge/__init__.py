"""modelyard's edge agent: verified ONNX packages served offline, synced when possible.

Depends on numpy and onnxruntime only, and imports nothing of ``modelyard``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from modelyard_edge.agent import AgentConfig, EdgeAgent, NoModelError, UpdateRejectedError
from modelyard_edge.model import LoadedModel, SelfTestError
from modelyard_edge.package import Package, PackageError, TamperedPackageError, open_package

__all__ = [
    "AgentConfig",
    "EdgeAgent",
    "LoadedModel",
    "NoModelError",
    "Package",
    "PackageError",
    "SelfTestError",
    "TamperedPackageError",
    "UpdateRejectedError",
    "__version__",
    "open_package",
]
