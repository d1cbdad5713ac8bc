"""One run of a transform job, from preparing the model to the last ``.out`` written.

Runs in the job's worker thread (see :mod:`modelyard.jobs.transform` for the steps);
raises :class:`JobStoppedError` on a stop, :class:`ShuttingDownError` when the server goes
away (the job stays InProgress and is resumed by the next server), and
:class:`~modelyard.jobs.job.JobFailedError` with the failure reason. Whatever happens,
:meth:`TransformRun.close` stops the replicas.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from modelyard.errors import IllegalTransitionError, ModelyardError, NotFoundError
from modelyard.hosting.preparation import prepare_model_launch
from modelyard.hosting.replicas import ReplicaProcess
from modelyard.ids import utcnow
from modelyard.jobs.job import HOSTS_KEY, START_KEY, Job, JobFailedError
from modelyard.jobs.transform_describe import PARAMETERS_KEY
from modelyard.jobs.transform_inputs import InputObject, list_inputs
from modelyard.jobs.transform_invoker import ReplicaClient
from modelyard.jobs.transform_objects import InstanceWorker, JobContext, output_key
from modelyard.jobs.transform_progress import (
    PROGRESS_KEY,
    Progress,
    ProgressReporter,
    describe_line,
)
from modelyard.jobs.transform_records import DEFAULT_MAX_PAYLOAD_MB, RecordPlan
from modelyard.jobs.transform_replicas import (
    JobLog,
    LogPump,
    batch_environment,
    launch_replica,
    stop_all,
    wait_ready,
)
from modelyard.jobs.transform_spec import (
    invocation_retries,
    invocation_timeout_s,
    output_uri,
)

if TYPE_CHECKING:
    from modelyard.jobs.transform import TransformController

#: Metadata every ``.out`` carries: which job wrote it (so a resumed job keeps it).
JOB_METADATA_KEY = "modelyard-transform-job"
BATCH_PARAMETERS = ("MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB")
_WAIT_S = 0.2


class JobStoppedError(Exception):
    """The job was stopped."""


class ShuttingDownError(Exception):
    """The server is shutting down: the job is left for the next one."""


class TransformRun:
    """Runs one job (see the module doc)."""

    def __init__(
        self, controller: TransformController, job: Job, log: JobLog, *, resumed: bool
    ) -> None:
        self.controller = controller
        self.job = job
        self.log = log
        self.resumed = resumed
        self.spec = job.spec
        self.replicas: dict[str, ReplicaProcess] = {}
        self.clients: dict[str, ReplicaClient] = {}
        self.pump = LogPump(log)
        self.abort = threading.Event()
        self.reporter: ProgressReporter | None = None

    # -- steps -------------------------------------------------------------------

    def execute(self) -> None:
        controller, spec = self.controller, self.spec
        model = controller.model_spec(spec["ModelName"])
        self._advance("Preparing")
        self.log.line(f"preparing model {spec['ModelName']!r}")
        try:
            launch = prepare_model_launch(
                spec["ModelName"],
                model,
                spec["TransformResources"]["InstanceType"],
                controller.images,
                controller.model_data,
            )
            objects = list_inputs(controller.store, spec)
        except ModelyardError as exc:
            raise JobFailedError(f"ClientError: {exc.message}") from exc
        arn = controller.get(self.job.name).arn
        done = self._already_written(objects, arn) if self.resumed else set()
        self._advance("LaunchingReplicas")
        given = {key: spec[key] for key in BATCH_PARAMETERS if spec.get(key) is not None}
        environment = batch_environment(launch, spec["Environment"], given)
        timeout_s = invocation_timeout_s(spec)
        for host in self.job.hosts:
            self._check_interrupted()
            replica = launch_replica(
                controller.launcher,
                launch,
                job_name=self.job.name,
                host=host,
                environment=environment,
                timeout_s=timeout_s,
            )
            self.replicas[host] = replica
            self.pump.follow(host, replica)
            self.clients[host] = ReplicaClient(
                replica.target, timeout_s=timeout_s + 5.0, retries=invocation_retries(spec)
            )
            controller.catalog.update(
                controller.kind,
                self.job.name,
                state_updates={HOSTS_KEY: {h: r.handle_id for h, r in self.replicas.items()}},
            )
        self.log.line(f"waiting for {len(self.replicas)} replica(s) to answer /ping")
        wait_ready(
            self.replicas,
            timeout_s=controller.settings.endpoint_startup_timeout_s,
            check_interrupted=self._check_interrupted,
        )
        parameters = self._parameters(given)
        plan = RecordPlan.from_request({**spec, **parameters})
        try:
            plan.validate()
        except ModelyardError as exc:
            raise JobFailedError(f"ClientError: {exc.message}") from exc
        self._transform(objects, done, plan, parameters, arn)

    def _parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        """The batch parameters: the request's, else the container's, else SageMaker's."""
        proposed: dict[str, Any] = {}
        if len(given) < len(BATCH_PARAMETERS):
            client = self.clients[self.job.hosts[0]]
            with contextlib.suppress(Exception):
                proposed = client.execution_parameters()
        strategy = str(proposed.get("BatchStrategy") or "MultiRecord").upper()
        defaults = {
            "MaxConcurrentTransforms": int(proposed.get("MaxConcurrentTransforms") or 1),
            "BatchStrategy": "SingleRecord" if "SINGLE" in strategy else "MultiRecord",
            "MaxPayloadInMB": int(proposed.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB),
        }
        chosen = {key: given.get(key, defaults[key]) for key in BATCH_PARAMETERS}
        self.log.line(
            "batch parameters: "
            + ", ".join(
                f"{key}={value}" + ("" if key in given else " (from the container)")
                for key, value in chosen.items()
            )
        )
        return chosen

    def _already_written(self, objects: list[InputObject], arn: str) -> set[str]:
        output = output_uri(self.spec)
        done: set[str] = set()
        for item in objects:
            with contextlib.suppress(NotFoundError):
                info = self.controller.store.head_object(output.bucket, output_key(output, item))
                if info.metadata.get(JOB_METADATA_KEY) == arn:
                    done.add(item.key)
        self.log.line(f"{len(done)} of {len(objects)} object(s) already written: kept")
        return done

    def _transform(
        self,
        objects: list[InputObject],
        done: set[str],
        plan: RecordPlan,
        parameters: dict[str, Any],
        arn: str,
    ) -> None:
        controller = self.controller
        progress = Progress(len(objects), sum(item.size for item in objects))
        for item in objects:
            if item.key in done:
                progress.skip(item.size)
        self._advance(
            "Transforming",
            {
                PARAMETERS_KEY: parameters,
                PROGRESS_KEY: progress.snapshot(),
                START_KEY: utcnow().isoformat(),
            },
        )
        self.reporter = ProgressReporter(
            progress, self._write_progress, interval_s=controller.progress_interval_s
        ).start()
        context = JobContext(
            store=controller.store,
            spec=self.spec,
            plan=plan,
            output=output_uri(self.spec),
            metadata={JOB_METADATA_KEY: arn},
            progress=progress,
            abort=self.abort,
        )
        todo = [item for item in objects if item.key not in done]
        hosts = self.job.hosts
        workers = {
            host: InstanceWorker(
                context, self.clients[host], int(parameters["MaxConcurrentTransforms"])
            )
            for host in hosts
        }
        threads = [
            threading.Thread(
                target=workers[host].run,
                args=(todo[index :: len(hosts)],),
                name=f"transform-{self.job.name}-{host}",
                daemon=True,
            )
            for index, host in enumerate(hosts)
        ]
        for thread in threads:
            thread.start()
        while alive := [thread for thread in threads if thread.is_alive()]:
            if self._interrupted():
                self.abort.set()
            alive[0].join(_WAIT_S)
        progress.finish()
        self.reporter.close()
        for worker in workers.values():
            if worker.error is not None:
                raise worker.error
        self._check_interrupted()
        self.log.line(f"done: {describe_line(progress.snapshot())}")

    # -- helpers -----------------------------------------------------------------

    def _write_progress(self, snapshot: dict[str, Any]) -> None:
        self.log.line(describe_line(snapshot))
        with contextlib.suppress(ModelyardError):
            self.controller.catalog.update(
                self.controller.kind, self.job.name, state_updates={PROGRESS_KEY: snapshot}
            )

    def _interrupted(self) -> bool:
        return self.controller.shutting_down or self.job.stop_requested.is_set()

    def _check_interrupted(self) -> None:
        if self.controller.shutting_down:
            raise ShuttingDownError
        if self.job.stop_requested.is_set():
            raise JobStoppedError

    def _advance(self, secondary: str, state_updates: dict[str, Any] | None = None) -> None:
        self._check_interrupted()
        try:
            self.controller.record.advance(self.job.name, secondary, None, state_updates)
        except IllegalTransitionError as exc:
            self.job.stop_requested.set()
            raise JobStoppedError from exc

    def close(self) -> None:
        """Stop the replicas (always: no endpoint is left running) and the helpers."""
        self.abort.set()
        if self.reporter is not None:
            with contextlib.suppress(Exception):
                self.reporter.close()
        stop_all(self.replicas, self.controller.settings.endpoint_stop_grace_s)
        for client in self.clients.values():
            client.close()
        self.pump.close()
