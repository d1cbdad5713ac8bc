"""Edge deployment: compilation to ONNX, verified edge packages and device fleets.

Import-light on purpose: the compilation library (:mod:`.compile`, :mod:`.adapters`,
:mod:`.optimize`, :mod:`.verify`, :mod:`.signature`, :mod:`.targets`) also runs inside
compile images, which have numpy, onnx, onnxruntime and one framework but none of the
control plane's dependencies. The controllers are imported from their modules.
"""

from __future__ import annotations

__all__: list[str] = []
