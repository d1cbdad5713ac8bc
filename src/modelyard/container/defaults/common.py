"""Default ``input_fn`` / ``output_fn`` pieces shared by every framework, on ``formats``.

The request's ``Content-Type`` picks a codec of :mod:`modelyard.formats.content_types`
(CSV, JSON, JSON Lines, NPY, RecordIO-protobuf, libsvm, Parquet, Arrow); the response's
``Accept`` picks the writer. JSON bodies may be a list of rows, ``{"instances": [...]}``
or ``{"inputs": ...}`` as in SageMaker's containers. Failures become the replica's
4xx answers here (:class:`~modelyard.container.serving_errors.ServingError`):
unsupported type 415 (listing the supported ones), malformed body 400 (with the
parser's line, field or byte offset), unwritable ``Accept`` 406.

NumPy and ``modelyard.formats`` are imported on first use, so that the toolkit
imports without them.
"""

from __future__ import annotations

from typing import Any

from modelyard.container.serving_errors import (
    INVALID_INPUT,
    UNSUPPORTED_ACCEPT,
    UNSUPPORTED_CONTENT_TYPE,
    ServingError,
)

RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
CSV = "text/csv"
_PLAIN_KINDS = frozenset("biuf")  # values whose str() is what the CSV writer writes


def _csv_lines(prediction: Any) -> bytes | None:
    """A 1-D array of numbers or booleans as CSV, one value per line; None otherwise.

    Byte for byte what ``formats.delimited.write_csv`` writes for it (``repr`` of each
    float, ``str`` of the rest, nothing needs quoting), at the cost of one join rather
    than one CSV row per label: a batch transform answers a whole batch of labels.
    """
    if prediction.ndim != 1 or prediction.dtype.kind not in _PLAIN_KINDS:
        return None
    if not prediction.size:
        return b""
    values = prediction.tolist()
    return ("\n".join(map(repr if prediction.dtype.kind == "f" else str, values)) + "\n").encode()


def _unsupported(exc: Exception, status: int, code: str) -> ServingError:
    return ServingError(status, code, str(exc))


def decode_input(input_data: str | bytes, content_type: str, *, numeric: bool) -> Any:
    """The body as a NumPy array, or a ``SparseRows`` for libsvm.

    ``numeric``: CSV cells must be numbers (float32), as XGBoost and PyTorch need;
    scikit-learn pipelines may take strings, so it keeps them.
    """
    from modelyard.formats import content_types, delimited, libsvm
    from modelyard.formats.errors import (
        FormatError,
        MissingDependencyError,
        UnsupportedContentTypeError,
    )

    try:
        codec = content_types.get_codec(content_type)
        if codec.content_type == delimited.CONTENT_TYPE and numeric:
            return delimited.read_csv(input_data, dtype="float32")
        if codec.content_type == delimited.CONTENT_TYPE and isinstance(input_data, str):
            # The text as read_csv would decode its UTF-8 (BOM dropped), without
            # re-encoding and re-decoding a whole batch.
            return delimited.read_csv(input_data.removeprefix("\ufeff"))
        body = input_data.encode() if isinstance(input_data, str) else input_data
        if codec.content_type == libsvm.CONTENT_TYPE:
            return libsvm.read_libsvm(body)
        return codec.decode_array(body)
    except UnsupportedContentTypeError as exc:
        raise _unsupported(exc, 415, UNSUPPORTED_CONTENT_TYPE) from exc
    except MissingDependencyError as exc:
        raise ServingError(
            415,
            UNSUPPORTED_CONTENT_TYPE,
            f"{content_type} cannot be read in this image: {exc}",
        ) from exc
    except FormatError as exc:
        raise ServingError(
            400, INVALID_INPUT, f"cannot read the {content_type} body: {exc}"
        ) from exc
    except (ValueError, TypeError) as exc:  # e.g. ragged JSON rows for np.asarray
        raise ServingError(
            400, INVALID_INPUT, f"cannot read the {content_type} body as an array: {exc}"
        ) from exc


def encode_output(prediction: Any, accept: str, default_accept: str) -> tuple[bytes, str]:
    """``(body, content_type)`` of a prediction for ``accept`` (q-values and ``*/*`` understood)."""
    import numpy as np

    from modelyard.formats import content_types
    from modelyard.formats.errors import FormatError, UnsupportedContentTypeError

    try:
        codec = content_types.select_codec_for_accept(accept, default_accept)
        if codec.content_type == CSV and isinstance(prediction, np.ndarray):
            lines = _csv_lines(prediction)
            if lines is not None:
                return lines, CSV
        if codec.content_type == RECORDIO_PROTOBUF:
            array = np.asarray(prediction)
            if array.ndim < 2:
                prediction = array.reshape(-1, 1)  # one record per prediction
        return codec.encode(prediction), codec.content_type
    except UnsupportedContentTypeError as exc:
        raise _unsupported(exc, 406, UNSUPPORTED_ACCEPT) from exc
    except (FormatError, ImportError, ValueError, TypeError) as exc:
        raise ServingError(
            406, UNSUPPORTED_ACCEPT, f"the prediction cannot be written as {accept}: {exc}"
        ) from exc


def single_file(model_dir: str, names: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    """The model file: the first of ``names`` present, else the one file with a suffix.

    Raises FileNotFoundError / ValueError with what was looked for and what was found.
    """
    import os

    entries = sorted(e for e in os.listdir(model_dir) if os.path.isfile(os.path.join(model_dir, e)))
    for name in names:
        if name in entries:
            return os.path.join(model_dir, name)
    matches = [e for e in entries if e.endswith(suffixes) and not e.startswith(".")]
    if len(matches) == 1:
        return os.path.join(model_dir, matches[0])
    wanted = ", ".join([*names, *(f"*{s}" for s in suffixes)])
    if not matches:
        raise FileNotFoundError(
            f"no model file in {model_dir} (looked for {wanted}; found: "
            f"{', '.join(entries) or 'nothing'}); write one of those, or define model_fn "
            "in code/inference.py"
        )
    raise ValueError(
        f"several model files in {model_dir}: {', '.join(matches)}; name the one to serve "
        f"{names[0]}, or define model_fn in code/inference.py"
    )
