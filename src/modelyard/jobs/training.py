"""The training controller: CreateTrainingJob to model.tar.gz.

Lifecycle (secondary statuses as SageMaker reports them, each recorded before its
side effect; see :mod:`modelyard.jobs.base` for stop, max runtime and restart):

``Starting``
    the row is written; the request was validated first (shape, image, channels
    with data, entry point in the source bundle, free name): a bad request runs nothing.
``Downloading``
    every host ``algo-i`` gets its job directory ``<home>/jobs/training/<job>/algo-i/``
    (:func:`modelyard.container.write_job_dir`); the source bundle is extracted into
    its ``code/``, the channels are staged (:mod:`modelyard.jobs.training_channels`),
    checkpoints restored. ``DownloadingTrainingImage`` while the image builds, if it
    is not built yet.
``Training``
    each host runs ``python -m modelyard.container.training`` (or, for a built-in
    algorithm: an xgboost image and no entry point, its module; see
    :mod:`modelyard.jobs.algorithms`) with the image's
    Python (or the request's ``ContainerEntrypoint``), ``SAGEMAKER_BASE_DIR`` = its
    job directory, the request's ``Environment``, and the CPU / memory of the
    instance type. Metrics are parsed from algo-1's log as it streams; checkpoints
    are synced up periodically. A multi-host or ``torch_distributed`` job's hosts all
    get ``MASTER_ADDR=127.0.0.1`` and the same free ``MASTER_PORT``, where torchrun's
    rendezvous happens (:mod:`modelyard.jobs.distribution`); a host failing stops the
    others.
``Uploading``
    algo-1's ``model/`` -> ``<S3OutputPath>/<job>/output/model.tar.gz`` and its
    ``output/data/`` -> ``output.tar.gz``. Only algo-1's are uploaded: distributed
    scripts save the model on the first host, as SageMaker's examples do.
``Completed`` / ``Failed`` / ``Stopped``
    a failure's reason comes from the host's ``output/failure`` and exit code
    (:func:`modelyard.container.failure_reason`: ``AlgorithmError: ...`` for the
    user's code, ``PlatformError: ...`` for the toolkit).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.container.errors import UnsafeArchiveError, failure_reason
from modelyard.container.files import read_failure_file, tar_directory
from modelyard.container.jobdir import (
    host_names,
    input_data_config_from_channels,
    resource_config,
    write_job_dir,
)
from modelyard.container.paths import JobPaths
from modelyard.data import validate_channel
from modelyard.errors import (
    ImageBuildError,
    ModelyardError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind
from modelyard.images.registry import ImageRegistry
from modelyard.images.spec import ImageSpec
from modelyard.jobs import algorithms, distribution, training_channels, training_describe
from modelyard.jobs.base import JobController
from modelyard.jobs.checkpoints import CheckpointSyncer, restore_checkpoints
from modelyard.jobs.instance_types import instance_profile
from modelyard.jobs.job import (
    COMPLETED,
    FAILED,
    HOST_COUNT_KEY,
    LABEL_HOST,
    LABEL_JOB,
    LABEL_KIND,
    Job,
    JobFailedError,
    Outcome,
    Phases,
)
from modelyard.jobs.metrics import LINES_KEY, MetricFollower, MetricParser
from modelyard.jobs.source import SourceBundleError, check_entry_point, fetch_bundle, safe_extract
from modelyard.jobs.training_spec import (
    checkpoint_relative_path,
    host_count,
    input_mode,
    training_image,
    validate_training_request,
)
from modelyard.runtime.base import ContainerSpec, Runtime
from modelyard.runtime.local_handle import EXIT_CODE_LOST
from modelyard.store.base import Store
from modelyard.store.transfer import upload_file
from modelyard.store.uri import join, parse_s3_uri

IMAGE_FIELD = "AlgorithmSpecification.TrainingImage"
TRAINING_COMMAND = ["python", "-m", "modelyard.container.training"]
#: State key: the framework whose built-in algorithm the job runs (no script).
BUILTIN_ALGORITHM_KEY = "BuiltinAlgorithm"
MODEL_ARTIFACTS_KEY = "ModelArtifacts"
OUTPUT_ARTIFACTS_KEY = "OutputArtifacts"
_STOP_EXIT_CODES = frozenset({143, 137, -15, -9})


class TrainingController(JobController):
    """Runs training jobs (see the module doc); one per control-plane process."""

    kind = ResourceKind.TRAINING_JOB
    noun = "training job"
    phases = Phases(
        starting="Starting",
        preparing="Downloading",
        running="Training",
        collecting="Uploading",
        stopping="Stopping",
        max_runtime="MaxRuntimeExceeded",
        completed="Completed",
        failed="Failed",
        stopped="Stopped",
    )
    status_messages: ClassVar[dict[str, str]] = training_describe.STATUS_MESSAGES

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
        *,
        checkpoint_sync_interval_s: float = 10.0,
        stop_grace_s: float | None = None,
        poll_interval_s: float = 0.1,
    ) -> None:
        super().__init__(
            catalog,
            runtime,
            settings,
            stop_grace_s=stop_grace_s,
            poll_interval_s=poll_interval_s,
            periodic_interval_s=checkpoint_sync_interval_s,
        )
        self.store = store
        self.images = images
        self.jobs_dir = settings.home / "jobs" / "training"

    # -- the API's operations ------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        """CreateTrainingJob: validate everything, write the row, start the worker."""
        spec = validate_training_request(body)
        name = spec["TrainingJobName"]
        self._check_free_name(name, "TrainingJobName")
        image = self._check_image(spec)
        self._check_buckets(spec)
        mode = input_mode(spec)
        for index, channel in enumerate(spec.get("InputDataConfig") or []):
            validate_channel(self.store, channel, index, input_mode=mode)
        builtin = algorithms.builtin_algorithm(image, spec)
        state: dict[str, Any] = {HOST_COUNT_KEY: host_count(spec)}
        if builtin is None:
            check_entry_point(self.store, spec, image_entry_point=image.entry_point)
        else:
            algorithms.check_builtin_request(builtin, spec)
            state[BUILTIN_ALGORITHM_KEY] = builtin.framework
        record = self._record_created(name, spec, state, "TrainingJobName")
        self._start(record, host_names(host_count(spec)))
        return record

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob's response shape."""
        record = self.get(name)
        return training_describe.describe(
            record, self.catalog.events(self.kind, name), self.metrics(name)
        )

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        """ListTrainingJobs: ``TrainingJobSummaries`` and ``NextToken``."""
        return self._summaries("TrainingJobSummaries", training_describe.summary, filters)

    # -- create-time checks --------------------------------------------------

    def _check_image(self, spec: dict[str, Any]) -> ImageSpec:
        """The image must exist (it may still need building); what it is."""
        tag = training_image(spec)
        try:
            record = self.images.get(tag)
        except (NotFoundError, ValidationError) as exc:
            raise ValidationError(
                f"{IMAGE_FIELD}={tag!r}: no such image ({exc.message}); see 'modelyard images "
                "list', or register one",
                field=IMAGE_FIELD,
            ) from exc
        return self.images.spec_of(record)

    def _builtin(self, job: Job) -> algorithms.BuiltinAlgorithm | None:
        """The built-in algorithm the job runs (decided at create), None for script mode."""
        framework = self.get(job.name).state.get(BUILTIN_ALGORITHM_KEY)
        return algorithms.BUILTIN_ALGORITHMS.get(str(framework)) if framework else None

    def _check_buckets(self, spec: dict[str, Any]) -> None:
        uris = [("OutputDataConfig.S3OutputPath", spec["OutputDataConfig"]["S3OutputPath"])]
        if spec.get("CheckpointConfig"):
            uris.append(("CheckpointConfig.S3Uri", spec["CheckpointConfig"]["S3Uri"]))
        for field, uri in uris:
            bucket = parse_s3_uri(uri, field=field).bucket
            if not self.store.bucket_exists(bucket):
                raise ValidationError(
                    f"{field}={uri!r}: the bucket {bucket!r} does not exist; create it first",
                    field=field,
                )

    # -- lifecycle hooks -----------------------------------------------------

    def _host_dir(self, job: Job, host: str) -> Path:
        return self.jobs_dir / job.name / host

    def _prepare(self, job: Job) -> dict[str, ContainerSpec]:
        spec = job.spec
        job_dir = self.jobs_dir / job.name
        if job_dir.exists():
            shutil.rmtree(job_dir)  # left by an earlier job of the same name
        job_dir.mkdir(parents=True)
        bundle = fetch_bundle(self.store, spec, job_dir)
        if distribution.needs_rendezvous(spec, len(job.hosts)):
            job.data["master_port"] = distribution.free_port()
        channels = spec.get("InputDataConfig") or []
        data_config = input_data_config_from_channels(
            channels, training_input_mode=input_mode(spec)
        )
        for host in job.hosts:
            self._check_interrupted(job)
            paths = write_job_dir(
                self._host_dir(job, host),
                hyperparameters=spec.get("HyperParameters") or {},
                input_data_config=data_config,
                resource_config=resource_config(spec["ResourceConfig"], host),
            )
            if bundle is not None:
                try:
                    safe_extract(bundle, paths.code_dir)
                except SourceBundleError as exc:
                    raise JobFailedError(f"ClientError: {exc}") from exc
            training_channels.stage_host_channels(
                self.store, job, self.jobs_dir / job.name, host, paths
            )
            checkpoint = spec.get("CheckpointConfig")
            if checkpoint:
                local = paths.base_dir / checkpoint_relative_path(checkpoint["LocalPath"])
                restore_checkpoints(self.store, checkpoint["S3Uri"], local)
        image_root = self._image_root(job)
        return {host: self._container(job, host, image_root) for host in job.hosts}

    def _image_root(self, job: Job) -> Path:
        tag = training_image(job.spec)
        try:
            record = self.images.get(tag)
            if record.status != "Ready":
                self._advance(job, "DownloadingTrainingImage", "Building the training image")
            while True:
                self._check_interrupted(job)
                try:
                    return self.images.ensure_ready(tag, timeout_s=1.0)
                except ImageBuildError:
                    record = self.images.get(tag)
                    if record.status != "Building":
                        raise
        except ModelyardError as exc:
            raise JobFailedError(f"ClientError: the image {tag} is not usable: {exc}") from exc

    def _container(self, job: Job, host: str, image_root: Path) -> ContainerSpec:
        spec = job.spec
        algorithm = spec["AlgorithmSpecification"]
        base = self._host_dir(job, host)
        record = self.get(job.name)
        env: dict[str, str] = {}
        if "master_port" in job.data:
            env.update(distribution.rendezvous_env(int(job.data["master_port"])))
        env.update({str(k): str(v) for k, v in (spec.get("Environment") or {}).items()})
        env.update(
            {
                "SAGEMAKER_BASE_DIR": str(base),
                "TRAINING_JOB_NAME": job.name,
                "TRAINING_JOB_ARN": record.arn,
                "MODELYARD_PIP": shlex.join(
                    [sys.executable, "-m", "pip", "--python", str(image_root / "bin" / "python")]
                ),
            }
        )
        entrypoint = algorithm.get("ContainerEntrypoint")
        builtin = self._builtin(job)
        if entrypoint:
            command = [*entrypoint, *(algorithm.get("ContainerArguments") or [])]
        elif builtin is not None:
            command = builtin.command
        else:
            command = list(TRAINING_COMMAND)
        profile = instance_profile(spec["ResourceConfig"]["InstanceType"])
        return ContainerSpec(
            name=f"training-{job.name}-{host}",
            command=command,
            image_root=image_root,
            env=env,
            workdir=base / "code" if entrypoint else base,
            resources=profile.resources,
            labels={LABEL_KIND: self.kind.value, LABEL_JOB: job.name, LABEL_HOST: host},
        )

    def _max_runtime_s(self, job: Job) -> float | None:
        """Counted from the launch of the containers (staging and image builds are free)."""
        return float(job.spec["StoppingCondition"]["MaxRuntimeInSeconds"])

    def _leave(self, job: Job) -> None:
        training_channels.detach_feeders(job)

    def _on_running(self, job: Job, resumed: bool) -> None:
        if resumed:
            training_channels.resume_feeders(
                self.store, job, self.jobs_dir / job.name, lambda host: self._host_dir(job, host)
            )
        given = job.spec["AlgorithmSpecification"].get("MetricDefinitions") or []
        parser = MetricParser(algorithms.metric_definitions(self._builtin(job), given))
        first = job.hosts[0]
        if parser and first in job.handles:
            since = int(self.get(job.name).state.get(LINES_KEY) or 0) if resumed else 0
            job.data["metrics"] = MetricFollower(
                self.catalog,
                self.kind,
                job.name,
                job.handles[first],
                parser,
                since_line=since,
                stopped=lambda: self.is_shutting_down,
            ).start()
        checkpoint = job.spec.get("CheckpointConfig")
        if checkpoint:
            relative = checkpoint_relative_path(checkpoint["LocalPath"])
            job.data["checkpoints"] = CheckpointSyncer(
                self.store,
                checkpoint["S3Uri"],
                [self._host_dir(job, host) / relative for host in job.hosts],
            )

    def _periodic(self, job: Job) -> None:
        syncer = job.data.get("checkpoints")
        if isinstance(syncer, CheckpointSyncer):
            syncer.sync()

    def _after_exit(self, job: Job) -> None:
        follower = job.data.get("metrics")
        if isinstance(follower, MetricFollower):
            follower.join(30.0)
        self._periodic(job)

    def _outcome(self, job: Job, exit_codes: dict[str, int]) -> Outcome:
        reason = training_channels.delivery_failure(job)
        if reason is not None:
            return Outcome(FAILED, self.phases.failed, reason)
        failed = [(host, code) for host, code in exit_codes.items() if code != 0]
        if not failed:
            return Outcome(COMPLETED, self.phases.completed)
        # The host that failed on its own explains the job, not those stopped because of it.
        failed.sort(key=lambda item: (item[1] in _STOP_EXIT_CODES, job.hosts.index(item[0])))
        host, code = failed[0]
        if code == EXIT_CODE_LOST:
            reason = (
                f"InternalServerError: the container of {host} was lost: its supervisor "
                "vanished without recording an exit code (machine restarted or process killed)"
            )
        else:
            text = read_failure_file(JobPaths(self._host_dir(job, host)).output_dir)
            reason = failure_reason(text, code) or f"AlgorithmError: exit code: {code}"
        if len(job.hosts) > 1:
            suffix = f" (on {host})"  # kept whole: which host failed matters most
            reason = reason[: 1024 - len(suffix)] + suffix
        return Outcome(FAILED, self.phases.failed, reason)

    def _release(self, job: Job) -> None:
        """Drop the staged input data (copies, FIFOs, links); configs, model and output stay."""
        training_channels.release_channels(
            job, self.jobs_dir / job.name, lambda host: self._host_dir(job, host)
        )

    def _collect(self, job: Job, outcome: Outcome) -> dict[str, Any]:
        """Upload algo-1's model (unless the job failed) and output data."""
        paths = JobPaths(self._host_dir(job, job.hosts[0]))
        prefix = join(job.spec["OutputDataConfig"]["S3OutputPath"], job.name, "output")
        staging = self.jobs_dir / job.name / "artifacts"
        staging.mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {}
        wanted = [(paths.output_data_dir, "output.tar.gz", OUTPUT_ARTIFACTS_KEY)]
        if outcome.status != FAILED:
            wanted.insert(0, (paths.model_dir, "model.tar.gz", MODEL_ARTIFACTS_KEY))
        for directory, file_name, key in wanted:
            if not directory.is_dir():
                continue
            try:
                tar_directory(directory, staging / file_name)
            except UnsafeArchiveError as exc:
                raise JobFailedError(f"AlgorithmError: {exc}") from exc
            uri = join(prefix, file_name)
            upload_file(self.store, staging / file_name, uri)
            state[key] = uri
        return state
