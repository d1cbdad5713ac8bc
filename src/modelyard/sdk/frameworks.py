"""Framework estimators: ``SKLearn``, ``XGBoost``, ``PyTorch``, with sagemaker's arguments.

The image is the server's framework image for ``framework_version`` (``sklearn:1.5``,
built on first use and cached on the machine), unless ``image_uri`` names one.
``py_version`` is accepted and ignored: images use the server's Python.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from modelyard.sdk.estimator import Framework
from modelyard.sdk.framework_models import PyTorchModel, SKLearnModel, XGBoostModel
from modelyard.sdk.model import FrameworkModel


class _VersionedFramework(Framework):
    """A framework estimator whose image follows ``framework_version``."""

    _framework_name: ClassVar[str] = ""

    def __init__(
        self,
        entry_point: str,
        framework_version: str | None = None,
        py_version: str | None = "py3",
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        **kwargs: Any,
    ) -> None:
        if framework_version is None and image_uri is None:
            raise ValueError(
                f"framework_version or image_uri must be set for {type(self).__name__}"
            )
        kwargs.pop("image_uri_region", None)
        super().__init__(
            entry_point=entry_point,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            image_uri=image_uri,
            **kwargs,
        )
        self.framework_version = framework_version
        self.py_version = py_version

    _model_class: ClassVar[type[FrameworkModel] | None] = None

    def create_model(
        self,
        model_server_workers: int | None = None,
        role: str | None = None,
        vpc_config_override: Any = "VPC_CONFIG_DEFAULT",
        entry_point: str | None = None,
        source_dir: str | None = None,
        dependencies: list[str] | None = None,
        **kwargs: Any,
    ) -> FrameworkModel:
        """The framework's model of the latest job, served with the training code (its
        ``model_fn`` and friends) unless ``entry_point`` names other code."""
        assert self._model_class is not None
        kwargs.setdefault("image_uri", self.training_image_uri())
        kwargs.setdefault("env", dict(self.environment or {}))
        return self._model_class(
            self.model_data,
            role or self.role,
            entry_point=entry_point or self._model_entry_point(),
            source_dir=source_dir or self._model_source_dir(),
            framework_version=self.framework_version,
            model_server_workers=model_server_workers,
            container_log_level=self.container_log_level,
            code_location=self.code_location,
            sagemaker_session=self.sagemaker_session,
            dependencies=dependencies or self.dependencies,
            **kwargs,
        )

    @classmethod
    def _prepare_init_params_from_job_description(
        cls, described: dict[str, Any], model_channel_name: str = "model"
    ) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(described, model_channel_name)
        name, _, tag = str(params.get("image_uri") or "").partition(":")
        if name == cls._framework_name and tag:
            params["framework_version"] = tag
        return params


class SKLearn(_VersionedFramework):
    """scikit-learn script mode (``sagemaker.sklearn.SKLearn``)."""

    _framework_name = "sklearn"
    _model_class = SKLearnModel


class XGBoost(_VersionedFramework):
    """XGBoost script mode (``sagemaker.xgboost.XGBoost``)."""

    _framework_name = "xgboost"
    _model_class = XGBoostModel


class PyTorch(_VersionedFramework):
    """PyTorch script mode (``sagemaker.pytorch.PyTorch``), ``distribution`` included.

    ``distribution`` takes sagemaker's forms: ``{"torch_distributed": {"enabled": True}}``
    runs torchrun on every host (gloo on CPU); ``mpi``, ``smdistributed``, ``pytorchddp``
    and ``pytorchxla`` are passed on as sagemaker passes them, and the server refuses
    them (400) since it provides no such launcher.
    """

    _framework_name = "pytorch"
    _model_class = PyTorchModel

    def __init__(
        self,
        entry_point: str,
        framework_version: str | None = None,
        py_version: str | None = None,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        distribution: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            entry_point,
            framework_version=framework_version,
            py_version=py_version,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            image_uri=image_uri,
            **kwargs,
        )
        self.distribution = distribution or {}

    def hyperparameters(self) -> dict[str, str]:
        encoded = super().hyperparameters()
        encoded.update(_distribution_hyperparameters(self.distribution))
        return encoded


def _distribution_hyperparameters(distribution: dict[str, Any]) -> dict[str, str]:
    """sagemaker's hyperparameters for a ``distribution`` (JSON-encoded).

    Every option sagemaker knows is passed on, so the server answers for all of them:
    it runs ``torch_distributed`` and refuses the launchers it does not provide (MPI,
    smdistributed, ``pytorchddp``, PyTorch XLA, parameter server) with a 400 naming them.
    """
    found: dict[str, Any] = {}
    if distribution.get("torch_distributed", {}).get("enabled"):
        found["sagemaker_torch_distributed_enabled"] = True
    if distribution.get("pytorchddp", {}).get("enabled"):
        found["sagemaker_pytorch_ddp_enabled"] = True
    if distribution.get("pytorchxla", {}).get("enabled"):
        found["sagemaker_pytorch_xla_multi_worker_enabled"] = True
    if distribution.get("parameter_server", {}).get("enabled"):
        found["sagemaker_parameter_server_enabled"] = True
    smdistributed = distribution.get("smdistributed", {})
    if smdistributed.get("dataparallel", {}).get("enabled"):
        found["sagemaker_distributed_dataparallel_enabled"] = True
    if smdistributed.get("modelparallel", {}).get("enabled"):
        found["sagemaker_mpi_enabled"] = True
    mpi = distribution.get("mpi", {})
    if mpi.get("enabled"):
        found["sagemaker_mpi_enabled"] = True
        if "processes_per_host" in mpi:
            found["sagemaker_mpi_num_of_processes_per_host"] = int(mpi["processes_per_host"])
        if "custom_mpi_options" in mpi:
            found["sagemaker_mpi_custom_mpi_options"] = str(mpi["custom_mpi_options"])
    return {key: json.dumps(value) for key, value in found.items()}
