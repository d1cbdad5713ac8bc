"""A loaded package: an onnxruntime session with the manifest's pre- and post-processing.

:class:`LoadedModel` is immutable once built; the agent swaps whole instances to
switch packages, so a request always runs on one consistent model.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from modelyard_edge.package import Package, PackageError

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


class SelfTestError(PackageError):
    """The package's model does not reproduce its recorded outputs on this device."""


class LoadedModel:
    def __init__(self, package: Package, *, threads: int = 1) -> None:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)
        self.package = package
        manifest = package.manifest
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                str(package.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise PackageError(
                f"the model of {package.name} {package.version} does not load: {exc}"
            ) from exc
        self.inputs = [
            (value.name, _ORT_DTYPES.get(value.type, np.float32))
            for value in self.session.get_inputs()
        ]
        self.outputs = [value.name for value in self.session.get_outputs()]
        pre = manifest.get("Preprocessing") or {}
        self._mean = np.asarray(pre["Mean"], dtype=np.float64) if "Mean" in pre else None
        self._std = np.asarray(pre["Std"], dtype=np.float64) if "Std" in pre else None
        post = manifest.get("Postprocessing") or {}
        self._labels = list(post["Labels"]) if post.get("Labels") else None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.package.version

    def feeds(self, data: Any) -> dict[str, np.ndarray]:
        """Inputs by name from an array (one input) or a mapping, pre-processed."""
        if not isinstance(data, dict):
            data = {self.inputs[0][0]: data}
        feeds = {}
        for name, dtype in self.inputs:
            if name not in data:
                raise ValueError(f"missing input {name!r}")
            array = np.asarray(data[name])
            if array.ndim == 1:
                array = array.reshape(1, -1)
            if dtype in (np.float32, np.float64) and (
                self._mean is not None or self._std is not None
            ):
                array = array.astype(np.float64)
                if self._mean is not None:
                    array = array - self._mean
                if self._std is not None:
                    array = array / self._std
            feeds[name] = np.ascontiguousarray(array, dtype=dtype)
        return feeds

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The raw outputs (no post-processing)."""
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds), strict=True))

    def predict(self, data: Any) -> dict[str, Any]:
        """Outputs by name, post-processed (label indices mapped to class names)."""
        outputs: dict[str, Any] = self.run(self.feeds(data))
        if self._labels is not None and "label" in outputs:
            labels = outputs["label"]
            if labels.dtype.kind in "iu":
                outputs["label"] = np.asarray([self._labels[int(i)] for i in labels.ravel()])
        return outputs

    def self_test(self) -> dict[str, float]:
        """Run the package's sample; :class:`SelfTestError` unless it reproduces the outputs."""
        test = self.package.manifest.get("SelfTest") or {}
        inputs = {
            name: np.load(self.package.root / path, allow_pickle=False)
            for name, path in (test.get("Inputs") or {}).items()
        }
        expected = {
            name: np.load(self.package.root / path, allow_pickle=False)
            for name, path in (test.get("Outputs") or {}).items()
        }
        if not inputs or not expected:
            raise SelfTestError(f"package {self.package.name} {self.version} has no self-test")
        try:
            got = self.run(
                {
                    name: np.ascontiguousarray(inputs[name], dtype=dtype)
                    for name, dtype in self.inputs
                }
            )
        except Exception as exc:
            raise SelfTestError(f"the self-test could not run: {exc}") from exc
        atol = float(test.get("AbsoluteTolerance", 1e-3))
        rtol = float(test.get("RelativeTolerance", 1e-3))
        min_agreement = float(test.get("MinLabelAgreement", 1.0))
        worst, agreement = 0.0, 1.0
        for name, want in expected.items():
            if name not in got:
                raise SelfTestError(f"the model has no output {name!r}")
            have = np.asarray(got[name])
            if want.dtype.kind in "iuUSb" or have.dtype.kind in "iuUSOb":
                same = want.astype(str).reshape(len(want), -1) == have.astype(str).reshape(
                    len(have), -1
                )
                agreement = min(agreement, float(np.mean(np.all(same, axis=1))))
                continue
            if want.shape != have.shape:
                raise SelfTestError(
                    f"output {name!r} has shape {have.shape}, expected {want.shape}"
                )
            error = float(np.max(np.abs(want.astype(np.float64) - have.astype(np.float64))))
            allowed = atol + rtol * float(np.max(np.abs(want)))
            if not error <= allowed:
                raise SelfTestError(
                    f"output {name!r} differs by {error:.3g} from the recorded outputs "
                    f"(allowed {allowed:.3g})"
                )
            worst = max(worst, error)
        if agreement < min_agreement:
            raise SelfTestError(f"label agreement {agreement:.3f} is below {min_agreement:.3f}")
        return {"MaxAbsoluteError": worst, "LabelAgreement": agreement}
