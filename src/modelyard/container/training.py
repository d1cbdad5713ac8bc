"""The training entry of a framework image: ``python -m modelyard.container.training``.

What SageMaker's ``train`` command does with sagemaker-training-toolkit, for a job
directory at ``SAGEMAKER_BASE_DIR`` (default ``/opt/ml``):

1. read ``input/config/*.json`` into the ``SM_*`` environment (:mod:`.environment`);
2. stage ``sagemaker_submit_directory`` into ``<base>/code`` unless the server already
   did (an ``s3://`` bundle must be staged by the server: :mod:`.files`);
3. install ``requirements.txt`` (or the ``setup.py`` package) with this Python's pip,
   or ``MODELYARD_PIP`` (:mod:`.modules`);
4. run the entry point from ``<base>/code`` with the hyperparameters as ``--key value``
   arguments and the ``SM_*`` variables in its environment, stdout and stderr streamed;
5. write ``output/success``, or ``output/failure`` and exit non-zero; the exit code says
   whether the user's code or modelyard failed (:mod:`.errors`).

This module imports only the standard library and ``modelyard.container``; it runs
inside images that have nothing else of modelyard.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

from modelyard.container.entry_point import EntryPoint
from modelyard.container.environment import TrainingEnvironment, load_environment
from modelyard.container.errors import (
    EXIT_PLATFORM_ERROR,
    EXIT_SUCCESS,
    ContainerError,
    ExecuteUserScriptError,
    PlatformError,
)
from modelyard.container.files import stage_source_dir, write_failure_file, write_success_file
from modelyard.container.hardware import Hardware
from modelyard.container.modules import install_dependencies
from modelyard.container.paths import JobPaths, base_dir_from_environ
from modelyard.container.runner import ProcessRunner, StopRequested, select_runner

__all__ = ["main", "train"]

logger = logging.getLogger("modelyard.container")

_LOG_FORMAT = "%(asctime)s %(name)-12s %(levelname)-8s %(message)s"
_SIGKILL_INFO = "OutOfMemory: Process killed by SIGKILL (signal 9)"


def train(
    environ: Mapping[str, str] | None = None,
    *,
    machine: Hardware | None = None,
    runner: ProcessRunner | None = None,
) -> int:
    """Run the training job of the job directory ``environ`` names; return the exit code.

    Never raises: every failure ends in ``output/failure`` and an exit code of the
    contract in :mod:`modelyard.container.errors` (tracebacks go to the log).
    """
    environ = dict(os.environ if environ is None else environ)
    paths = JobPaths(base_dir_from_environ(environ))
    try:
        env = load_environment(environ, machine=machine)
        _set_log_level(env.log_level)
        if env.framework_module:
            logger.warning(
                "SAGEMAKER_TRAINING_MODULE=%s is not imported: modelyard runs the entry "
                "point itself",
                env.framework_module,
            )
        stage_source_dir(env.module_dir, paths.code_dir)
        entry_point = EntryPoint.resolve(paths.code_dir, env.user_entry_point)
        runner = runner or select_runner(env)
        install_dependencies(
            entry_point, pip_env=env.settings.pip_command, runner=runner, env=environ
        )
        entry_point.make_executable()
        command = runner.entry_point_command(entry_point, env.to_cmd_args(), sys.executable)
        sm_vars = env.to_env_vars()
        process_env = _process_env(environ, env, sm_vars)
        _log_invocation(env, sm_vars, process_env["PYTHONPATH"], command)
        result = runner.run(command, env=process_env, cwd=paths.code_dir)
        if result.stopped_by is not None:
            raise StopRequested(result.stopped_by)
        if result.exit_code != 0:
            raise ExecuteUserScriptError(
                command,
                result.exit_code,
                result.error_excerpt(),
                _SIGKILL_INFO if result.exit_code in (137, -9) else None,
            )
    except StopRequested as stop:
        logger.info("Training stopped by signal %d", stop.signum)
        return 128 + stop.signum
    except ContainerError as exc:
        if isinstance(exc, PlatformError):
            logger.error("modelyard failed", exc_info=exc)
        return _report_failure(paths, exc)
    except Exception as exc:  # a bug of ours: say where, keep the traceback in the log
        logger.exception("modelyard's training toolkit failed")
        where = traceback.extract_tb(exc.__traceback__)[-1]
        wrapped = PlatformError(
            f"unexpected {type(exc).__name__}: {exc} (at {Path(where.filename).name}:"
            f"{where.lineno}; the job log has the traceback)"
        )
        return _report_failure(paths, wrapped)
    write_success_file(paths.output_dir)
    logger.info("Reporting training SUCCESS")
    return EXIT_SUCCESS


def _report_failure(paths: JobPaths, error: ContainerError) -> int:
    text = error.failure_text()
    logger.error("Reporting training FAILURE\n%s", text)
    try:
        write_failure_file(paths.output_dir, text)
    except OSError as exc:
        logger.error("cannot write %s: %s", paths.failure_file, exc)
        return EXIT_PLATFORM_ERROR
    return error.exit_code


def _process_env(
    environ: Mapping[str, str], env: TrainingEnvironment, sm_vars: Mapping[str, str]
) -> dict[str, str]:
    """The entry point's environment: ours, the toolkit's extra variables, the ``SM_*`` ones.

    PYTHONPATH starts with the code directory (the toolkit puts it first too, so modules
    beside the entry point import); output is unbuffered unless the image says otherwise,
    so logs and metrics stream.
    """
    child = dict(environ)
    child.update(env.process_env_vars())
    child.update(sm_vars)
    inherited = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    child["PYTHONPATH"] = os.pathsep.join([str(env.paths.code_dir), *inherited])
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def _set_log_level(level: object) -> None:
    try:
        logger.setLevel(level if isinstance(level, int | str) else logging.INFO)
    except (TypeError, ValueError):
        logger.setLevel(logging.INFO)


def _log_invocation(
    env: TrainingEnvironment, sm_vars: Mapping[str, str], pythonpath: str, command: list[str]
) -> None:
    variables = "\n".join(f"{k}={v}" for k, v in [*sm_vars.items(), ("PYTHONPATH", pythonpath)])
    logger.info(
        "Invoking user script\n\nTraining Env:\n\n%s\n\nEnvironment variables:\n\n%s\n\n"
        "Invoking script with the following command:\n\n%s\n",
        json.dumps(env.training_env(), indent=4, sort_keys=True, default=str),
        variables,
        " ".join(command),
    )


def main() -> int:
    """The ``train`` command: log to stderr, run the job, return its exit code."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger("modelyard")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return train()


if __name__ == "__main__":
    sys.exit(main())
