"""NPY (``application/x-npy``) and NPZ (``application/x-npz``): NumPy's own files.

Pickled object arrays are refused unless ``allow_pickle=True`` (loading a
pickle runs code).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelyard.formats.errors import FormatError

__all__ = ["CONTENT_TYPE", "NPZ_CONTENT_TYPE", "read_npy", "read_npz", "write_npy", "write_npz"]

CONTENT_TYPE = "application/x-npy"
NPZ_CONTENT_TYPE = "application/x-npz"


def read_npy(body: bytes | bytearray | memoryview, *, allow_pickle: bool = False) -> NDArray[Any]:
    try:
        array = np.load(io.BytesIO(bytes(body)), allow_pickle=allow_pickle)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"not a valid .npy body: {exc}", field="body") from exc
    if not isinstance(array, np.ndarray):
        raise FormatError("an .npz archive where an .npy array was expected", field="body")
    return array


def write_npy(data: ArrayLike) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(data), allow_pickle=False)
    return buffer.getvalue()


def read_npz(
    body: bytes | bytearray | memoryview, *, allow_pickle: bool = False
) -> dict[str, NDArray[Any]]:
    try:
        with np.load(io.BytesIO(bytes(body)), allow_pickle=allow_pickle) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, AttributeError) as exc:
        raise FormatError(f"not a valid .npz body: {exc}", field="body") from exc


def write_npz(arrays: dict[str, ArrayLike]) -> bytes:
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
    np.savez(buffer, **named)
    return buffer.getvalue()
