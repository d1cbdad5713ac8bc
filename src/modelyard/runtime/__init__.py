"""Where containers run: the ``Runtime`` seam (``base``), its backends, ``get_runtime``."""

from modelyard.runtime.base import ContainerSpec, Handle, Mount, Resources, Runtime
from modelyard.runtime.local import LocalProcessRuntime, port_env_name
from modelyard.runtime.local_handle import EXIT_CODE_LOST, LocalHandle
from modelyard.runtime.registry import RUNTIMES, get_runtime

__all__ = [
    "EXIT_CODE_LOST",
    "RUNTIMES",
    "ContainerSpec",
    "Handle",
    "LocalHandle",
    "LocalProcessRuntime",
    "Mount",
    "Resources",
    "Runtime",
    "get_runtime",
    "port_env_name",
]
