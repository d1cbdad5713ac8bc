"""sagemaker's ``Transformer``: a model run over a dataset in S3, no endpoint left running.

Same names, signature and behaviour as ``sagemaker.transformer.Transformer`` (v2):
``transform()`` names the job after ``base_transform_job_name`` (else the model's image),
defaults the output path to ``s3://<default bucket>/<job name>/``, starts the job and,
with ``wait``, waits for it (printing its log with ``logs``). ``Model.transformer()`` and
``Estimator.transformer()`` build one (see :func:`for_model` and :func:`for_estimator`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.ids import unique_name_from_base
from modelyard.sdk import transform_jobs
from modelyard.sdk.hosting import session_of

if TYPE_CHECKING:
    from modelyard.sdk.estimator import EstimatorBase
    from modelyard.sdk.model import Model
    from modelyard.sdk.session import Session


class Transformer:
    """Runs batch transform jobs of one model (sagemaker's ``Transformer``)."""

    def __init__(
        self,
        model_name: str,
        instance_count: int,
        instance_type: str,
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        tags: list[dict[str, str]] | None = None,
        env: dict[str, str] | None = None,
        base_transform_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        volume_kms_key: str | None = None,
    ) -> None:
        self.model_name = model_name
        self.strategy = strategy
        self.env = env
        self.output_path = output_path
        self.output_kms_key = output_kms_key
        self.accept = accept
        self.assemble_with = assemble_with
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.volume_kms_key = volume_kms_key
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.tags = tags
        self.base_transform_job_name = base_transform_job_name
        self._current_job_name: str | None = None
        self.latest_transform_job: str | None = None
        self._reset_output_path = False
        self.sagemaker_session = sagemaker_session

    @property
    def session(self) -> Session:
        """The session, a default one made at first use (sagemaker makes it at once)."""
        if self.sagemaker_session is None:
            self.sagemaker_session = session_of(None)
        return self.sagemaker_session

    def transform(
        self,
        data: str,
        data_type: str = "S3Prefix",
        content_type: str | None = None,
        compression_type: str | None = None,
        split_type: str | None = None,
        job_name: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        experiment_config: dict[str, str] | None = None,
        model_client_config: dict[str, Any] | None = None,
        batch_data_capture_config: Any = None,
        wait: bool = True,
        logs: bool = True,
    ) -> None:
        """Start a transform job over ``data`` (an ``s3://`` prefix or manifest)."""
        if not data.startswith("s3://"):
            raise ValueError(f"Invalid S3 URI: {data}")
        if job_name is not None:
            self._current_job_name = job_name
        else:
            base = self.base_transform_job_name or self._retrieve_base_name()
            self._current_job_name = unique_name_from_base(base)
        if self.output_path is None or self._reset_output_path:
            bucket = self.session.default_bucket()
            self.output_path = f"s3://{bucket}/{self._current_job_name}/"
            self._reset_output_path = True
        request = transform_request(
            self,
            data,
            data_type,
            content_type,
            compression_type,
            split_type,
            input_filter,
            output_filter,
            join_source,
            experiment_config,
            model_client_config,
        )
        if batch_data_capture_config is not None:
            request["DataCaptureConfig"] = batch_data_capture_config._to_request_dict()
        transform_jobs.create(self.session.client, request)
        self.latest_transform_job = self._current_job_name
        if wait:
            self.wait(logs=logs)

    def _retrieve_base_name(self) -> str:
        from modelyard.sdk.model import base_name_from_image

        described = self.session.describe_model(self.model_name)
        container = described.get("PrimaryContainer") or (described.get("Containers") or [{}])[0]
        image = container.get("Image")
        return base_name_from_image(str(image)) if image else self.model_name

    def _latest(self) -> str:
        if self.latest_transform_job is None:
            raise ValueError("No transform job available")
        return self.latest_transform_job

    def wait(self, logs: bool = True) -> None:
        """Wait for the latest job's end (printing its log with ``logs``)."""
        client = self.session.client
        if logs:
            transform_jobs.stream_logs(client, self._latest())
        else:
            transform_jobs.wait(client, self._latest())

    def describe(self) -> dict[str, Any]:
        """DescribeTransformJob of the latest job (with modelyard's ``TransformProgress``)."""
        return transform_jobs.describe(self.session.client, self._latest())

    def stop_transform_job(self, wait: bool = True) -> None:
        """Stop the latest job; with ``wait``, until it has ended."""
        client = self.session.client
        transform_jobs.stop(client, self._latest())
        if wait:
            transform_jobs.wait(client, self._latest())

    @classmethod
    def attach(
        cls, transform_job_name: str, sagemaker_session: Session | None = None
    ) -> Transformer:
        """The Transformer of an existing job, its settings read from its description."""
        session = session_of(sagemaker_session)
        described = transform_jobs.describe(session.client, transform_job_name)
        output = described.get("TransformOutput") or {}
        resources = described.get("TransformResources") or {}
        transformer = cls(
            model_name=described["ModelName"],
            instance_count=resources.get("InstanceCount", 1),
            instance_type=resources.get("InstanceType", "local"),
            strategy=described.get("BatchStrategy"),
            assemble_with=output.get("AssembleWith"),
            output_path=output.get("S3OutputPath"),
            output_kms_key=output.get("KmsKeyId"),
            accept=output.get("Accept"),
            max_concurrent_transforms=described.get("MaxConcurrentTransforms"),
            max_payload=described.get("MaxPayloadInMB"),
            env=described.get("Environment"),
            sagemaker_session=session,
        )
        transformer.latest_transform_job = transform_job_name
        transformer._current_job_name = transform_job_name
        return transformer


def transform_request(
    transformer: Transformer,
    data: str,
    data_type: str,
    content_type: str | None,
    compression_type: str | None,
    split_type: str | None,
    input_filter: str | None,
    output_filter: str | None,
    join_source: str | None,
    experiment_config: dict[str, str] | None,
    model_client_config: dict[str, Any] | None,
) -> dict[str, Any]:
    """The CreateTransformJob request of ``transformer.transform(...)``, built as
    sagemaker's ``Session._get_transform_request`` builds it."""
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": data}}
    }
    for key, value in (
        ("ContentType", content_type),
        ("CompressionType", compression_type),
        ("SplitType", split_type),
    ):
        if value is not None:
            transform_input[key] = value
    output: dict[str, Any] = {"S3OutputPath": transformer.output_path}
    for key, value in (
        ("Accept", transformer.accept),
        ("AssembleWith", transformer.assemble_with),
        ("KmsKeyId", transformer.output_kms_key),
    ):
        if value is not None:
            output[key] = value
    resources: dict[str, Any] = {
        "InstanceType": transformer.instance_type,
        "InstanceCount": transformer.instance_count,
    }
    if transformer.volume_kms_key is not None:
        resources["VolumeKmsKeyId"] = transformer.volume_kms_key
    request: dict[str, Any] = {
        "TransformJobName": transformer._current_job_name,
        "ModelName": transformer.model_name,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": resources,
    }
    optional = {
        "BatchStrategy": transformer.strategy,
        "MaxConcurrentTransforms": transformer.max_concurrent_transforms,
        "MaxPayloadInMB": transformer.max_payload,
        "Environment": transformer.env,
        "Tags": transformer.tags,
        "ExperimentConfig": experiment_config,
        "ModelClientConfig": model_client_config,
    }
    request.update({key: value for key, value in optional.items() if value is not None})
    processing = {
        "InputFilter": input_filter,
        "OutputFilter": output_filter,
        "JoinSource": join_source,
    }
    if any(value is not None for value in processing.values()):
        request["DataProcessing"] = {k: v for k, v in processing.items() if v is not None}
    return request


def for_model(model: Model, instance_count: int, instance_type: str, **options: Any) -> Transformer:
    """``Model.transformer()``: the model is created (if not yet), then its Transformer."""
    tags = options.pop("tags", None)
    model.create(instance_type, tags=tags)
    name = model.name
    assert name is not None  # create() names it
    env = options.pop("env", None)
    if model.enable_network_isolation:
        env = None
    return Transformer(
        name,
        instance_count,
        instance_type,
        env=env,
        tags=tags,
        base_transform_job_name=model._base_name or name,
        sagemaker_session=model.session,
        **options,
    )


def for_estimator(
    estimator: EstimatorBase,
    instance_count: int,
    instance_type: str,
    *,
    model_name: str | None,
    env: dict[str, str] | None,
    model_options: dict[str, Any],
    **options: Any,
) -> Transformer:
    """``Estimator.transformer()``: a model of the latest training job (named after the
    job, as sagemaker does), then its Transformer; the model's environment is merged
    under ``env``."""
    tags = options.pop("tags", None) or estimator.tags
    if estimator.latest_training_job is None:
        raise ValueError(
            "Estimator is not associated with a training job: call fit() (or attach()) first"
        )
    name = model_name or estimator.latest_training_job.job_name
    model = estimator.create_model(**model_options)
    model.name = name
    model.create(instance_type, tags=tags)
    transform_env = dict(model.env)
    transform_env.update(env or {})
    return Transformer(
        name,
        instance_count,
        instance_type,
        env=transform_env,
        tags=tags,
        base_transform_job_name=estimator.base_job_name,
        sagemaker_session=estimator.sagemaker_session,
        **options,
    )
