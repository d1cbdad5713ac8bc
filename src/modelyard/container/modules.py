"""Installing the user's dependencies with the image's own Python, before the entry point.

As the toolkit does: a script-mode entry point gets ``pip install -r requirements.txt``
when its source directory has one; a source directory with a ``setup.py`` gets
``pip install . [-r requirements.txt]``; a shell entry point gets nothing.

pip is ``<this python> -m pip``. modelyard's images may be virtualenvs without pip: then
``MODELYARD_PIP`` names a pip-like command to use instead (``install ...`` is appended),
e.g. ``uv pip --python /images/abc/bin/python`` or
``/usr/bin/python3 -m pip --python /images/abc/bin/python``. With neither, a source
directory that needs installing is a platform error that says so.
"""

from __future__ import annotations

import importlib.util
import logging
import shlex
import sys
from pathlib import Path

from modelyard.container.entry_point import EntryPoint, EntryPointType
from modelyard.container.errors import (
    CalledProcessError,
    InstallModuleError,
    InstallRequirementsError,
    PlatformError,
)
from modelyard.container.runner import ProcessRunner, StopRequested

logger = logging.getLogger(__name__)

REQUIREMENTS_FILE = "requirements.txt"


def pip_command(pip_env: str | None) -> list[str]:
    """How to run pip for this interpreter: ``python -m pip``, else ``MODELYARD_PIP``."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    if pip_env:
        return shlex.split(pip_env)
    raise PlatformError(
        f"the source directory needs installing, but this image's Python ({sys.executable}) "
        "has no pip module and MODELYARD_PIP is not set: build the image with pip, or set "
        "MODELYARD_PIP to a pip command for it (e.g. 'uv pip --python <python>')"
    )


def install_dependencies(
    entry_point: EntryPoint, *, pip_env: str | None, runner: ProcessRunner, env: dict[str, str]
) -> None:
    """Install what the source directory asks for, as the toolkit does for its kind."""
    code_dir: Path = entry_point.code_dir
    has_requirements = (code_dir / REQUIREMENTS_FILE).is_file()
    error: type[CalledProcessError]
    if entry_point.kind is EntryPointType.PYTHON_PACKAGE:
        args = ["install", "."] + (["-r", REQUIREMENTS_FILE] if has_requirements else [])
        error = InstallModuleError
        logger.info("Installing module.")
    elif entry_point.kind is EntryPointType.PYTHON_PROGRAM and has_requirements:
        args = ["install", "-r", REQUIREMENTS_FILE]
        error = InstallRequirementsError
        logger.info("Installing dependencies from requirements.txt")
    else:
        return
    command = [*pip_command(pip_env), *args]
    result = runner.run(command, env=env, cwd=code_dir)
    if result.stopped_by is not None:
        raise StopRequested(result.stopped_by)
    if result.exit_code != 0:
        raise error(command, result.exit_code, result.error_excerpt())
