"""Verification of a compiled model: does it predict what the original predicts?

Both models run on the same sample; their outputs are matched by name. Float
outputs give the **maximum absolute error**; labels (integer or string outputs,
or the arg-max of a 2-D score output when the model has no label output) give the
**label agreement**, the share of rows whose label is the same. A compilation
passes when ``MaxAbsoluteError <= AbsoluteTolerance + RelativeTolerance * scale``
(``scale`` = the largest absolute value of the original's float outputs) and
``LabelAgreement >= MinLabelAgreement``. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Output names that hold labels rather than scores.
LABEL_OUTPUTS = ("label", "labels", "output_label", "predicted_label")


@dataclass(frozen=True)
class Tolerance:
    """How far a compiled model may stray from the original."""

    absolute: float = 1e-4
    relative: float = 1e-4
    min_label_agreement: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {
            "AbsoluteTolerance": self.absolute,
            "RelativeTolerance": self.relative,
            "MinLabelAgreement": self.min_label_agreement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], default: Tolerance) -> Tolerance:
        return cls(
            absolute=float(data.get("AbsoluteTolerance", default.absolute)),
            relative=float(data.get("RelativeTolerance", default.relative)),
            min_label_agreement=float(data.get("MinLabelAgreement", default.min_label_agreement)),
        )


#: Defaults: fp32 must match closely; int8 is judged mostly by its labels.
FP32_TOLERANCE = Tolerance(absolute=1e-4, relative=1e-4, min_label_agreement=0.99)
INT8_TOLERANCE = Tolerance(absolute=0.05, relative=0.1, min_label_agreement=0.95)


@dataclass(frozen=True)
class Verification:
    max_absolute_error: float
    output_scale: float
    label_agreement: float | None
    rows: int
    per_output: dict[str, dict[str, float]]
    tolerance: Tolerance

    @property
    def allowed_error(self) -> float:
        return self.tolerance.absolute + self.tolerance.relative * self.output_scale

    @property
    def passed(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        """What is past the tolerance, each saying by how much."""
        found = []
        if not np.isfinite(self.max_absolute_error) or self.max_absolute_error > self.allowed_error:
            found.append(
                f"max absolute error {self.max_absolute_error:.6g} exceeds the tolerance "
                f"{self.allowed_error:.6g} by {self.max_absolute_error - self.allowed_error:.6g}"
            )
        agreement = self.label_agreement
        wanted = self.tolerance.min_label_agreement
        if agreement is not None and agreement < wanted:
            found.append(
                f"label agreement {agreement:.4f} is below {wanted:.4f} by {wanted - agreement:.4f}"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "MaxAbsoluteError": self.max_absolute_error,
            "AllowedError": self.allowed_error,
            "OutputScale": self.output_scale,
            "LabelAgreement": self.label_agreement,
            "SampleRows": self.rows,
            "Outputs": self.per_output,
            "Tolerance": self.tolerance.to_dict(),
            "Passed": self.passed,
        }


def compare(
    original: dict[str, np.ndarray], compiled: dict[str, np.ndarray], tolerance: Tolerance
) -> Verification:
    """Compare outputs matched by name (see the module doc)."""
    missing = sorted(set(original) - set(compiled))
    if missing:
        raise ValueError(
            f"the compiled model has no output {', '.join(missing)} "
            f"(it has {', '.join(sorted(compiled))})"
        )
    max_error = 0.0
    scale = 0.0
    agreements: list[float] = []
    rows = 0
    per_output: dict[str, dict[str, float]] = {}
    for name, want in original.items():
        got = compiled[name]
        want, got = np.asarray(want), np.asarray(got)
        rows = max(rows, int(want.shape[0]) if want.ndim else 1)
        if _is_label(name, want):
            agreement = _agreement(want.reshape(want.shape[0], -1), got.reshape(got.shape[0], -1))
            agreements.append(agreement)
            per_output[name] = {"LabelAgreement": agreement}
            continue
        want64 = want.astype(np.float64).reshape(want.shape[0], -1)
        got64 = got.astype(np.float64).reshape(got.shape[0], -1)
        if want64.shape != got64.shape:
            raise ValueError(
                f"output {name!r}: the compiled model gives shape {got.shape}, "
                f"the original {want.shape}"
            )
        error = float(np.max(np.abs(want64 - got64))) if want64.size else 0.0
        if not np.isfinite(error):
            error = float("inf")
        out_scale = float(np.max(np.abs(want64))) if want64.size else 0.0
        max_error, scale = max(max_error, error), max(scale, out_scale)
        per_output[name] = {"MaxAbsoluteError": error, "OutputScale": out_scale}
        if not any(_is_label(other, original[other]) for other in original) and want64.shape[1] > 1:
            agreement = float(np.mean(np.argmax(want64, axis=1) == np.argmax(got64, axis=1)))
            agreements.append(agreement)
            per_output[name]["ArgmaxAgreement"] = agreement
    return Verification(
        max_absolute_error=max_error,
        output_scale=scale,
        label_agreement=min(agreements) if agreements else None,
        rows=rows,
        per_output=per_output,
        tolerance=tolerance,
    )


def _is_label(name: str, values: np.ndarray) -> bool:
    return name.lower() in LABEL_OUTPUTS or values.dtype.kind in "iuUSOb"


def _agreement(want: np.ndarray, got: np.ndarray) -> float:
    if want.shape != got.shape or not want.size:
        return 0.0
    if want.dtype.kind in "iufb" and got.dtype.kind in "iufb":
        same = np.all(want.astype(np.float64) == got.astype(np.float64), axis=1)
    else:
        same = np.all(want.astype(str) == got.astype(str), axis=1)
    return float(np.mean(same))
