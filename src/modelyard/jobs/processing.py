"""The processing controller: CreateProcessingJob, a script in an image over inputs.

Lifecycle (each step recorded before its side effect; stop, max runtime, restart
and logs are :mod:`modelyard.jobs.base`'s). Processing jobs have no secondary status
in SageMaker's describe; these are kept internally (events, ``modelyard`` CLI):

``Starting``
    the request was validated (shape, image, output buckets, free name) and recorded.
``Downloading``
    every host ``algo-i`` gets ``<home>/jobs/processing/<job>/algo-i/``, which the
    container sees as ``/opt/ml``: ``config/processingjobconfig.json`` (the request,
    secrets masked, with ``ProcessingJobArn``), ``config/resourceconfig.json``
    (``current_host``, ``hosts``), and each input at its ``LocalPath``:

    - ``S3Input``: staged by :func:`modelyard.data.stage_channel` (File copies,
      FastFile reads lazily), ``ShardedByS3Key`` dealing objects round-robin to hosts;
    - ``AthenaDatasetDefinition`` / ``RedshiftDatasetDefinition``: the query runs once,
      on the platform (:mod:`modelyard.data.datasets`); its part files are uploaded to
      ``<OutputS3Uri>/<job>/<InputName>/`` and copied to the hosts (all of them, or
      dealt round-robin when ``ShardedByS3Key``);
    - ``FileSystemDatasetDefinition``: the directory is bound at ``LocalPath``, read in
      place (read-only unless ``FileSystemAccessMode`` is ``rw``).

    The image is built meanwhile if it is not yet.
``Processing``
    each host runs ``ContainerEntrypoint + ContainerArguments`` (or the image's entry
    point) in the image, with the request's ``Environment`` and the instance type's
    CPUs and memory, under bubblewrap with its directory bound at ``/opt/ml`` (see
    :mod:`modelyard.runtime.sandbox`), so scripts' hard-coded ``/opt/ml/processing/...``
    paths are real. ``smspark-submit`` (the SageMaker Spark images' entry point) runs
    :mod:`modelyard.container.spark_submit`. ``Continuous`` outputs upload meanwhile.
``Uploading``
    when every host exited 0, each host's ``EndOfJob`` outputs go to their ``S3Uri``;
    ``Continuous`` ones get a last pass whatever the outcome.
``Completed`` / ``Failed`` / ``Stopped``
    Completed only if every instance exits 0. A failure's reason is the host's
    ``/opt/ml/output/failure`` if written, else the exit code and the last line of its
    log; ``/opt/ml/output/message`` (first 1 KB) becomes ``ExitMessage``. Inputs that
    cannot be staged (no object under a prefix, a missing directory, a failing query,
    an unreachable database) fail the job with ``ClientError: ...`` naming the input.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.container.files import read_failure_file
from modelyard.data import stage_channel
from modelyard.data.datasets import DatasetError, materialize
from modelyard.data.datasets.writer import DEFAULT_ROWS_PER_PART
from modelyard.errors import (
    ImageBuildError,
    ModelyardError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind
from modelyard.images.registry import ImageRegistry
from modelyard.jobs import processing_describe
from modelyard.jobs.base import JobController
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
from modelyard.jobs.processing_outputs import ContinuousUploader, OutputDir, upload_output
from modelyard.jobs.processing_spec import (
    CONTAINER_BASE,
    FILE_SYSTEM,
    dataset_kind,
    host_count,
    image_uri,
    instance_type,
    output_buckets,
    outputs,
    relative_local_path,
    validate_processing_request,
)
from modelyard.runtime.base import ContainerSpec, Mount, Runtime
from modelyard.runtime.local_handle import EXIT_CODE_LOST
from modelyard.store.base import Store
from modelyard.store.transfer import upload_file
from modelyard.store.uri import join, parse_s3_uri

IMAGE_FIELD = "AppSpecification.ImageUri"
#: Entry points of SageMaker's images, mapped to what modelyard's images run instead.
IMAGE_COMMANDS = {"smspark-submit": ["python", "-m", "modelyard.container.spark_submit"]}
MAX_EXIT_MESSAGE = 1024
_STOP_EXIT_CODES = frozenset({143, 137, -15, -9})


class ProcessingController(JobController):
    """Runs processing jobs (see the module doc); one per control-plane process."""

    kind = ResourceKind.PROCESSING_JOB
    noun = "processing job"
    phases = Phases(
        starting="Starting",
        preparing="Downloading",
        running="Processing",
        collecting="Uploading",
        stopping="Stopping",
        max_runtime="MaxRuntimeExceeded",
        completed="Completed",
        failed="Failed",
        stopped="Stopped",
    )
    status_messages: ClassVar[dict[str, str]] = {
        "Starting": "Starting the processing job",
        "Downloading": "Preparing the inputs",
        "DownloadingImage": "Building the processing image",
        "Processing": "Processing",
        "Uploading": "Uploading the outputs",
        "Completed": "Processing job completed",
        "Failed": "Processing job failed",
        "Stopping": "Stopping the processing job",
        "Stopped": "Processing job stopped",
        "MaxRuntimeExceeded": "Job stopped because max run time has been exceeded",
    }

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
        *,
        stop_grace_s: float | None = None,
        poll_interval_s: float = 0.1,
        continuous_upload_interval_s: float = 1.0,
        rows_per_part: int = DEFAULT_ROWS_PER_PART,
    ) -> None:
        super().__init__(
            catalog, runtime, settings, stop_grace_s=stop_grace_s, poll_interval_s=poll_interval_s
        )
        self.store = store
        self.images = images
        self.jobs_dir = settings.home / "jobs" / "processing"
        self.continuous_upload_interval_s = continuous_upload_interval_s
        self.rows_per_part = rows_per_part

    # -- the API's operations ------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        """CreateProcessingJob: validate, write the row, start the worker."""
        spec = validate_processing_request(body)
        name = spec["ProcessingJobName"]
        self._check_free_name(name, "ProcessingJobName")
        self._check_image(spec)
        for field, uri in output_buckets(spec):
            bucket = parse_s3_uri(uri, field=field).bucket
            if not self.store.bucket_exists(bucket):
                raise ValidationError(
                    f"{field}={uri!r}: the bucket {bucket!r} does not exist; create it first",
                    field=field,
                )
        count = host_count(spec)
        record = self._record_created(name, spec, {HOST_COUNT_KEY: count}, "ProcessingJobName")
        self._start(record, [f"algo-{i}" for i in range(1, count + 1)])
        return record

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeProcessingJob's response shape."""
        return processing_describe.describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        """ListProcessingJobs: ``ProcessingJobSummaries`` and ``NextToken``."""
        return self._summaries("ProcessingJobSummaries", processing_describe.summary, filters)

    def _check_image(self, spec: dict[str, Any]) -> None:
        tag = image_uri(spec)
        try:
            record = self.images.get(tag)
        except (NotFoundError, ValidationError) as exc:
            raise ValidationError(
                f"{IMAGE_FIELD}={tag!r}: no such image ({exc.message}); see 'modelyard images "
                "list', or register one",
                field=IMAGE_FIELD,
            ) from exc
        if not spec["AppSpecification"].get("ContainerEntrypoint"):
            image = self.images.spec_of(record)
            if not image.entry_point or image.code_dir is None:
                raise ValidationError(
                    f"AppSpecification.ContainerEntrypoint is required: the image {tag} has "
                    'no entry point of its own (e.g. ["python3", '
                    '"/opt/ml/processing/input/code/script.py"])',
                    field="AppSpecification.ContainerEntrypoint",
                )

    # -- preparing -------------------------------------------------------------

    def _host_dir(self, job: Job, host: str) -> Path:
        return self.jobs_dir / job.name / host

    def _prepare(self, job: Job) -> dict[str, ContainerSpec]:
        spec = job.spec
        job_dir = self.jobs_dir / job.name
        if job_dir.exists():
            shutil.rmtree(job_dir)  # left by an earlier job of the same name
        job_dir.mkdir(parents=True)
        arn = self.get(job.name).arn
        config = {**processing_describe.public_spec(spec), "ProcessingJobArn": arn}
        mounts: dict[str, list[Mount]] = {host: [] for host in job.hosts}
        for host in job.hosts:
            host_dir = self._host_dir(job, host)
            (host_dir / "config").mkdir(parents=True)
            (host_dir / "output").mkdir()
            (host_dir / "config" / "processingjobconfig.json").write_text(
                json.dumps(config, indent=2, default=str), encoding="utf-8"
            )
            (host_dir / "config" / "resourceconfig.json").write_text(
                json.dumps({"current_host": host, "hosts": job.hosts}), encoding="utf-8"
            )
            for output in outputs(spec):
                (host_dir / relative_local_path(output["LocalPath"])).mkdir(
                    parents=True, exist_ok=True
                )
        for item in spec["ProcessingInputs"]:
            self._check_interrupted(job)
            if item.get("S3Input") is not None:
                self._stage_s3_input(job, item)
                continue
            dataset = item["DatasetDefinition"]
            kind = dataset_kind(dataset)
            if kind == FILE_SYSTEM:
                mount = self._file_system_mount(item)
                for host in job.hosts:
                    (self._host_dir(job, host) / relative_local_path(mount.target)).mkdir(
                        parents=True, exist_ok=True
                    )
                    mounts[host].append(mount)
            else:
                self._materialize(job, item, kind)
        image_root = self._image_root(job)
        return {host: self._container(job, host, image_root, mounts[host]) for host in job.hosts}

    def _stage_s3_input(self, job: Job, item: dict[str, Any]) -> None:
        s3_input = item["S3Input"]
        relative = relative_local_path(s3_input["LocalPath"])
        channel = {
            "ChannelName": relative.name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": s3_input["S3DataType"],
                    "S3Uri": s3_input["S3Uri"],
                    "S3DataDistributionType": s3_input["S3DataDistributionType"],
                }
            },
            "InputMode": s3_input["S3InputMode"],
        }
        for index, host in enumerate(job.hosts):
            try:
                staged = stage_channel(
                    self.store,
                    channel,
                    self._host_dir(job, host) / relative.parent,
                    host_index=index,
                    host_count=len(job.hosts),
                    input_mode=s3_input["S3InputMode"],
                )
            except ModelyardError as exc:
                message = exc.message.replace(f"channel {relative.name!r}", "the input")
                raise JobFailedError(
                    f"ClientError: ProcessingInput {item['InputName']!r} "
                    f"({s3_input['S3Uri']}) could not be staged: {message}"
                ) from exc
            job.closeables.append(staged)

    def _file_system_mount(self, item: dict[str, Any]) -> Mount:
        dataset = item["DatasetDefinition"]
        definition = dataset[FILE_SYSTEM]
        directory = Path(definition["DirectoryPath"])
        if not directory.is_dir():
            problem = "does not exist" if not directory.exists() else "is not a directory"
            raise JobFailedError(
                f"ClientError: ProcessingInput {item['InputName']!r}: DirectoryPath "
                f"{str(directory)!r} {problem} on this machine"
            )
        return Mount(
            directory,
            dataset["LocalPath"],
            read_only=definition.get("FileSystemAccessMode", "ro") == "ro",
        )

    def _materialize(self, job: Job, item: dict[str, Any], kind: str) -> None:
        dataset = item["DatasetDefinition"]
        name = item["InputName"]
        staging = self.jobs_dir / job.name / "datasets" / name
        try:
            result = materialize(
                kind,
                dataset[kind],
                staging,
                store=self.store,
                settings=self.settings,
                what=f"ProcessingInput {name!r} ({kind})",
                rows_per_part=self.rows_per_part,
            )
        except DatasetError as exc:
            raise JobFailedError(exc.reason) from exc
        self._check_interrupted(job)
        prefix = join(dataset[kind]["OutputS3Uri"], job.name, name)
        for part in result.parts:
            upload_file(self.store, part, join(prefix, part.name))
        sharded = dataset["DataDistributionType"] == "ShardedByS3Key"
        relative = relative_local_path(dataset["LocalPath"])
        for index, host in enumerate(job.hosts):
            target = self._host_dir(job, host) / relative
            target.mkdir(parents=True, exist_ok=True)
            mine = result.parts[index :: len(job.hosts)] if sharded else result.parts
            for part in mine:
                shutil.copyfile(part, target / part.name)
        shutil.rmtree(staging, ignore_errors=True)

    def _image_root(self, job: Job) -> Path:
        tag = image_uri(job.spec)
        try:
            record = self.images.get(tag)
            if record.status != "Ready":
                self._advance(job, "DownloadingImage", "Building the processing image")
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

    def _container(
        self, job: Job, host: str, image_root: Path, extra_mounts: list[Mount]
    ) -> ContainerSpec:
        app = job.spec["AppSpecification"]
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        if entrypoint:
            entrypoint = [*IMAGE_COMMANDS.get(entrypoint[0], entrypoint[:1]), *entrypoint[1:]]
        else:
            image = self.images.spec_of(self.images.get(image_uri(job.spec)))
            entrypoint = ["python", str(image_root / "code" / str(image.entry_point))]
        env = {str(k): str(v) for k, v in job.spec["Environment"].items()}
        host_dir = self._host_dir(job, host)
        return ContainerSpec(
            name=f"processing-{job.name}-{host}",
            command=[*entrypoint, *(app.get("ContainerArguments") or [])],
            image_root=image_root,
            env=env,
            workdir=host_dir,
            mounts=[Mount(host_dir, str(CONTAINER_BASE)), *extra_mounts],
            resources=instance_profile(instance_type(job.spec)).resources,
            labels={LABEL_KIND: self.kind.value, LABEL_JOB: job.name, LABEL_HOST: host},
        )

    # -- running ---------------------------------------------------------------

    def _max_runtime_s(self, job: Job) -> float | None:
        return float(job.spec["StoppingCondition"]["MaxRuntimeInSeconds"])

    def _output_dirs(self, job: Job, mode: str) -> list[OutputDir]:
        return [
            OutputDir(
                output["OutputName"],
                self._host_dir(job, host) / relative_local_path(output["LocalPath"]),
                output["S3Uri"],
            )
            for host in job.hosts
            for output in outputs(job.spec)
            if output.get("S3UploadMode", "EndOfJob") == mode
        ]

    def _on_running(self, job: Job, resumed: bool) -> None:
        continuous = self._output_dirs(job, "Continuous")
        if continuous:
            uploader = ContinuousUploader(
                self.store, continuous, self.continuous_upload_interval_s
            ).start()
            job.data["continuous"] = uploader
            job.closeables.append(uploader)

    def _after_exit(self, job: Job) -> None:
        uploader = job.data.get("continuous")
        if isinstance(uploader, ContinuousUploader):
            with contextlib.suppress(ModelyardError):
                uploader.finish()

    def _outcome(self, job: Job, exit_codes: dict[str, int]) -> Outcome:
        failed = [(host, code) for host, code in exit_codes.items() if code != 0]
        if not failed:
            return Outcome(COMPLETED, self.phases.completed)
        failed.sort(key=lambda item: (item[1] in _STOP_EXIT_CODES, job.hosts.index(item[0])))
        host, code = failed[0]
        if code == EXIT_CODE_LOST:
            reason = (
                f"InternalServerError: the container of {host} was lost: its supervisor "
                "vanished without recording an exit code (machine restarted or process killed)"
            )
        else:
            text = (read_failure_file(self._host_dir(job, host) / "output") or "").strip()
            if text:
                reason = f"AlgorithmError: {text}, exit code: {code}"
            else:
                last = self._last_log_line(job, host)
                reason = f"AlgorithmError: exit code {code}" + (f": {last}" if last else "")
        if len(job.hosts) > 1:
            reason = f"{reason} (on {host})"
        return Outcome(FAILED, self.phases.failed, reason[:1024])

    def _last_log_line(self, job: Job, host: str) -> str:
        handle = job.handles.get(host)
        if handle is None:
            return ""
        with contextlib.suppress(Exception):
            tail: deque[str] = deque(maxlen=1)
            for line in handle.logs():
                if line.strip():
                    tail.append(line.strip())
            return tail[0] if tail else ""
        return ""

    def _release(self, job: Job) -> None:
        """Free the inputs' copies once the job has ended (outputs and logs stay)."""
        for host in job.hosts:
            for item in job.spec["ProcessingInputs"]:
                local = (item.get("S3Input") or item.get("DatasetDefinition") or {}).get(
                    "LocalPath"
                )
                if local:
                    path = self._host_dir(job, host) / relative_local_path(local)
                    if path.is_symlink():
                        path.unlink()
                    else:
                        shutil.rmtree(path, ignore_errors=True)

    def _collect(self, job: Job, outcome: Outcome) -> dict[str, Any]:
        state: dict[str, Any] = {}
        message = self._host_dir(job, job.hosts[0]) / "output" / "message"
        if message.is_file():
            text = message.read_text(encoding="utf-8", errors="replace")[:MAX_EXIT_MESSAGE]
            state[processing_describe.EXIT_MESSAGE_KEY] = text
        uploader = job.data.get("continuous")
        if isinstance(uploader, ContinuousUploader) and uploader.error is not None:
            raise JobFailedError(
                f"ClientError: a Continuous output could not be uploaded: {uploader.error}"
            )
        if outcome.status == COMPLETED:
            for output in self._output_dirs(job, "EndOfJob"):
                try:
                    upload_output(self.store, output)
                except ModelyardError as exc:
                    raise JobFailedError(
                        f"ClientError: ProcessingOutput {output.name!r} could not be uploaded "
                        f"to {output.s3_uri}: {exc.message}"
                    ) from exc
        return state
