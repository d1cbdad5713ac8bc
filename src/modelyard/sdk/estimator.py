"""Estimators with sagemaker SDK v2's names, arguments and behaviour.

``Estimator(image_uri=..., ...)`` trains any image; ``Framework`` subclasses
(:mod:`modelyard.sdk.frameworks`) add script mode: ``entry_point`` + ``source_dir``
are packed into ``sourcedir.tar.gz``, uploaded next to the job's output and named in
the ``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters, every
hyperparameter JSON-encoded as sagemaker does. ``fit(inputs)`` takes a URI string, a
``TrainingInput`` / ``FileSystemInput``, or a dict of channel names to either.

Everything goes through the control plane's HTTP API (``Session.client``). Arguments
that have no meaning on one's own machines (``subnets``, ``use_spot_instances``,
``rules``...) are accepted and ignored, so SageMaker code runs unchanged.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar, TypeVar

from modelyard.ids import unique_name_from_base
from modelyard.sdk import naming, sourcedir, training_jobs, training_request
from modelyard.sdk.compile import CompileMixin
from modelyard.sdk.estimator_deploy import EstimatorDeployMixin
from modelyard.sdk.images import framework_image_uri
from modelyard.sdk.inputs import Inputs
from modelyard.sdk.session import Session
from modelyard.sdk.training_jobs import TrainingJob
from modelyard.sdk.training_request import (
    DEFAULT_ROLE,
    JOB_NAME_HP,
    LOG_LEVEL_HP,
    PROGRAM_HP,
    REGION_HP,
    SUBMIT_DIR_HP,
    json_or_raw,
)

log = logging.getLogger(__name__)

E = TypeVar("E", bound="EstimatorBase")

#: sagemaker's ``base_from_name``, under the name the parity tests know.
_base_from_name = naming.base_from_name


def get_execution_role(sagemaker_session: Session | None = None) -> str:
    """A role ARN for requests that want one (there is no IAM here: it is ignored)."""
    return DEFAULT_ROLE


def base_name_from_image(image: str, default: str = "estimator") -> str:
    """``sklearn`` from ``sklearn:1.5`` (sagemaker's rule: the repository name)."""
    return naming.base_name_from_image(image, default)


class EstimatorBase(CompileMixin, EstimatorDeployMixin):
    """What every estimator shares: the job request, ``fit``, ``attach``, ``model_data``."""

    def __init__(
        self,
        role: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        volume_size: int = 30,
        max_run: int = 24 * 60 * 60,
        input_mode: str = "File",
        output_path: str | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        hyperparameters: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        model_uri: str | None = None,
        model_channel_name: str = "model",
        metric_definitions: list[dict[str, str]] | None = None,
        checkpoint_s3_uri: str | None = None,
        checkpoint_local_path: str | None = None,
        environment: dict[str, str] | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        dependencies: list[str] | None = None,
        code_location: str | None = None,
        container_log_level: int = logging.INFO,
        container_entry_point: list[str] | None = None,
        container_arguments: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            log.debug("ignored estimator arguments: %s", ", ".join(sorted(kwargs)))
        self.role = role
        self.instance_count = instance_count or 1
        self.instance_type = instance_type or "local"
        self.volume_size = volume_size
        self.max_run = max_run
        self.input_mode = input_mode
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.sagemaker_session = sagemaker_session or Session()
        self._hyperparameters: dict[str, Any] = dict(hyperparameters or {})
        #: The script-mode hyperparameters, JSON-encoded already (set by fit).
        self._script_hyperparameters: dict[str, str] = {}
        self.tags = tags
        self.model_uri = model_uri
        self.model_channel_name = model_channel_name
        self.metric_definitions = metric_definitions
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.checkpoint_local_path = checkpoint_local_path
        self.environment = environment
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.dependencies = dependencies or []
        self.code_location = code_location
        self.container_log_level = container_log_level
        self.container_entry_point = container_entry_point
        self.container_arguments = container_arguments
        self.latest_training_job: TrainingJob | None = None
        self._current_job_name: str | None = None
        self.jobs: list[TrainingJob] = []

    # -- what subclasses decide ------------------------------------------------

    def training_image_uri(self) -> str:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, str]:
        """The hyperparameters as the request carries them (strings)."""
        user = {str(k): str(v) for k, v in self._hyperparameters.items()}
        return {**user, **self._script_hyperparameters}

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def _script_mode_hyperparameters(self, code_dir: str, script: str) -> None:
        self._script_hyperparameters.update(
            {
                SUBMIT_DIR_HP: json.dumps(code_dir),
                PROGRAM_HP: json.dumps(script),
                LOG_LEVEL_HP: json.dumps(self.container_log_level),
                JOB_NAME_HP: json.dumps(self._current_job_name),
                REGION_HP: json.dumps(self.sagemaker_session.settings.region),
            }
        )

    # -- training --------------------------------------------------------------

    def fit(
        self,
        inputs: Inputs | None = None,
        wait: bool = True,
        logs: str | bool = "All",
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
    ) -> None:
        """Start a training job on ``inputs``; with ``wait``, return when it has ended."""
        self._prepare_for_training(job_name)
        assert self._current_job_name is not None
        training_jobs.create(self.sagemaker_session.client, self._training_request(inputs))
        self.latest_training_job = TrainingJob(self.sagemaker_session, self._current_job_name)
        self.jobs.append(self.latest_training_job)
        if wait:
            self.latest_training_job.wait(logs=logs)

    def _prepare_for_training(self, job_name: str | None = None) -> None:
        if job_name is None:
            base = self.base_job_name or base_name_from_image(self.training_image_uri())
            job_name = unique_name_from_base(base)
        self._current_job_name = job_name
        if self.output_path is None:
            self.output_path = f"s3://{self.sagemaker_session.default_bucket()}/"
        if self.entry_point is not None:
            if self.source_dir is not None and self.source_dir.startswith("s3://"):
                code_dir, script = self.source_dir, self.entry_point
            else:
                uploaded = sourcedir.upload(
                    self.sagemaker_session.client,
                    self.code_location or self.output_path,
                    job_name,
                    self.entry_point,
                    self.source_dir,
                    self.dependencies,
                )
                code_dir, script = uploaded.s3_prefix, uploaded.script_name
            self._script_mode_hyperparameters(code_dir, script)

    def _training_request(self, inputs: Inputs | None) -> dict[str, Any]:
        return training_request.training_request(self, inputs)

    # -- after training --------------------------------------------------------

    def _latest(self) -> TrainingJob:
        if self.latest_training_job is None:
            raise ValueError("Estimator is not associated with a training job")
        return self.latest_training_job

    def describe(self) -> dict[str, Any]:
        """DescribeTrainingJob of the latest job."""
        return self._latest().describe()

    def logs(self) -> None:
        """Print the latest job's log (following it until the job ends)."""
        self._latest().wait(logs="All")

    def stop_training_job(self) -> None:
        self._latest().stop()

    @property
    def model_data(self) -> str:
        """The S3 URI of the latest job's ``model.tar.gz``."""
        if self.latest_training_job is not None:
            artifacts = self.latest_training_job.describe().get("ModelArtifacts")
            if artifacts:
                return str(artifacts["S3ModelArtifacts"])
        output = (self.output_path or "").rstrip("/")
        return f"{output}/{self._current_job_name}/output/model.tar.gz"

    @classmethod
    def attach(
        cls: type[E],
        training_job_name: str,
        sagemaker_session: Session | None = None,
        model_channel_name: str = "model",
    ) -> E:
        """An estimator for an existing job, once that job has ended (as sagemaker does)."""
        session = sagemaker_session or Session()
        described = training_jobs.describe(session.client, training_job_name)
        params = cls._prepare_init_params_from_job_description(described, model_channel_name)
        estimator = cls(sagemaker_session=session, **params)
        estimator.latest_training_job = TrainingJob(session, training_job_name)
        estimator._current_job_name = training_job_name
        estimator.latest_training_job.wait(logs="None")
        return estimator

    @classmethod
    def _prepare_init_params_from_job_description(
        cls, described: dict[str, Any], model_channel_name: str = "model"
    ) -> dict[str, Any]:
        return training_request.init_params_from_description(described, model_channel_name)


class Estimator(EstimatorBase):
    """A generic estimator: any modelyard image (``image_uri`` = ``name:tag``)."""

    def __init__(self, image_uri: str, role: str | None = None, **kwargs: Any) -> None:
        super().__init__(role=role, **kwargs)
        self.image_uri = image_uri

    def training_image_uri(self) -> str:
        return self.image_uri

    def create_model(
        self,
        role: str | None = None,
        image_uri: str | None = None,
        predictor_cls: Any = None,
        vpc_config_override: Any = "VPC_CONFIG_DEFAULT",
        **kwargs: Any,
    ) -> Any:
        """A ``Model`` of the latest job's artifacts in the training image (or ``image_uri``)."""
        from modelyard.sdk.model import Model
        from modelyard.sdk.predictor import Predictor

        return Model(
            image_uri or self.training_image_uri(),
            self.model_data,
            role or self.role,
            predictor_cls=predictor_cls or Predictor,
            sagemaker_session=self.sagemaker_session,
            **kwargs,
        )


class Framework(EstimatorBase):
    """Script mode for a framework image; subclasses name the framework and its version."""

    _framework_name: ClassVar[str] = ""

    def __init__(
        self,
        entry_point: str,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        dependencies: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            entry_point=entry_point,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            dependencies=dependencies,
            **kwargs,
        )
        self.image_uri = image_uri
        self.framework_version: str | None = None

    def hyperparameters(self) -> dict[str, str]:
        """Every value JSON-encoded (``"0.1"``, ``"\\"adam\\""``), as sagemaker's frameworks do."""
        user = {str(k): json.dumps(v) for k, v in self._hyperparameters.items()}
        return {**user, **self._script_hyperparameters}

    def _model_source_dir(self) -> str | None:
        """Where the trained code went (``sagemaker_submit_directory``), else ``source_dir``."""
        uploaded = self._script_hyperparameters.get(SUBMIT_DIR_HP)
        return str(json_or_raw(uploaded)) if uploaded else self.source_dir

    def _model_entry_point(self) -> str | None:
        program = self._script_hyperparameters.get(PROGRAM_HP)
        return str(json_or_raw(program)) if program else self.entry_point

    def training_image_uri(self) -> str:
        """``image_uri``, else the server's framework image for ``framework_version``."""
        if self.image_uri:
            return self.image_uri
        if not self._framework_name or not self.framework_version:
            raise ValueError("give image_uri, or framework_version for a framework estimator")
        self.image_uri = framework_image_uri(
            self.sagemaker_session.client, self._framework_name, self.framework_version
        )
        return self.image_uri

    @classmethod
    def _prepare_init_params_from_job_description(
        cls, described: dict[str, Any], model_channel_name: str = "model"
    ) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(described, model_channel_name)
        return training_request.decode_framework_params(params)
