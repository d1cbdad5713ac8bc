"""Built-in algorithms: a framework image run with no script trains its algorithm.

SageMaker's XGBoost image trains without ``sagemaker_program`` ("built-in algorithm"
mode); modelyard's ``xgboost:<version>`` framework images do the same. A job is a
built-in algorithm job when its image is such a framework image and it names no entry
point (no ``sagemaker_program`` / ``SAGEMAKER_PROGRAM``, no source bundle, no
``ContainerEntrypoint``, and the image has no entry point of its own). Its hosts then
run ``python -m <the algorithm's module>`` instead of the script-mode toolkit, and its
log is parsed with the algorithm's metric definitions (SageMaker's ``train:rmse``,
``validation:auc``, ...) besides any the request gives. They are applied by the
controller, not written into the request: there are more of them than the 40 a
request may carry, and an estimator attached to the job re-sends its request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.container.algorithms.xgboost import metrics as xgboost_metrics
from modelyard.errors import ValidationError
from modelyard.images.spec import ImageSpec
from modelyard.jobs.training_spec import entry_point, host_count, submit_directory


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """A framework's built-in algorithm: the module its hosts run, the metrics it logs."""

    framework: str
    module: str
    metric_definitions: tuple[tuple[str, str], ...]

    @property
    def command(self) -> list[str]:
        return ["python", "-m", self.module]


BUILTIN_ALGORITHMS = {
    "xgboost": BuiltinAlgorithm(
        framework="xgboost",
        module="modelyard.container.algorithms.xgboost",
        metric_definitions=tuple(
            (d["Name"], d["Regex"]) for d in xgboost_metrics.metric_definitions()
        ),
    ),
}


def builtin_algorithm(image: ImageSpec, spec: Mapping[str, Any]) -> BuiltinAlgorithm | None:
    """The built-in algorithm this job runs, or None for script mode (see the module doc)."""
    if image.entry_point or image.framework not in BUILTIN_ALGORITHMS:
        return None
    if spec["AlgorithmSpecification"].get("ContainerEntrypoint"):
        return None
    if entry_point(spec) is not None or submit_directory(spec) is not None:
        return None
    return BUILTIN_ALGORITHMS[image.framework]


def check_builtin_request(algorithm: BuiltinAlgorithm, spec: Mapping[str, Any]) -> None:
    """Refuse (400) what the algorithm cannot run: more than one instance."""
    if host_count(spec) != 1:
        raise ValidationError(
            f"ResourceConfig.InstanceCount={host_count(spec)}: the built-in {algorithm.framework} "
            "algorithm runs on one instance here; use InstanceCount 1",
            field="ResourceConfig.InstanceCount",
        )


def metric_definitions(
    algorithm: BuiltinAlgorithm | None, given: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The definitions a job's log is parsed with: the algorithm's, then the request's
    (a request's definition replaces the algorithm's of the same name)."""
    if algorithm is None:
        return given
    names = {str(d["Name"]) for d in given}
    builtin = [
        {"Name": name, "Regex": regex}
        for name, regex in algorithm.metric_definitions
        if name not in names
    ]
    return [*builtin, *given]
