"""The user's entry point: which kind it is and the command that runs it.

The toolkit's rules (``_entry_point_type.py``, ``process.py``):

- a name ending in ``.sh`` is a COMMAND, run as ``/bin/sh -c "./<name> <args>"``
  with every piece shell-quoted;
- else, a source directory with a ``setup.py`` is a PYTHON_PACKAGE: it is pip-installed
  (with its requirements.txt) and run as ``python -m <name without .py> <args>``;
- else a ``.py`` name is a PYTHON_PROGRAM, run as ``python -- <name> <args>`` (script mode;
  its requirements.txt is installed first);
- anything else is a COMMAND (made executable first).

Names are validated as the toolkit validates them: a relative path inside the source
directory, of letters, digits and ``. _ + - /``, not starting with ``-`` or ``/``, with
no ``.`` or ``..`` segment.
"""

from __future__ import annotations

import enum
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.container.errors import EntryPointError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._+-]*(/[A-Za-z0-9._+-]+)*$")


class EntryPointType(enum.Enum):
    PYTHON_PACKAGE = "PYTHON_PACKAGE"
    PYTHON_PROGRAM = "PYTHON_PROGRAM"
    COMMAND = "COMMAND"


def validate_name(name: Any) -> str:
    """The entry point name, if it is a safe relative path; else :class:`EntryPointError`."""
    if not name or not isinstance(name, str):
        raise EntryPointError(
            "The training entry point name is empty. Set the 'sagemaker_program' "
            "hyperparameter (or SAGEMAKER_PROGRAM) to the script to run, relative to your "
            "source directory -- for example 'train.py' or 'train.sh'."
        )
    if not _SAFE_NAME.match(name) or any(part in (".", "..") for part in name.split("/")):
        raise EntryPointError(
            f"The training entry point {name!r} cannot be used: it must be a path inside "
            "your source directory made of letters, digits, '.', '_', '+', '-' and '/', "
            "not starting with '-' or '/' and without '.' or '..' segments -- for example "
            "'train.py' or 'bin/train.sh'."
        )
    return name


def entry_point_type(code_dir: Path, name: str) -> EntryPointType:
    if name.endswith(".sh"):
        return EntryPointType.COMMAND
    if (code_dir / "setup.py").exists():
        return EntryPointType.PYTHON_PACKAGE
    if name.endswith(".py"):
        return EntryPointType.PYTHON_PROGRAM
    return EntryPointType.COMMAND


@dataclass(frozen=True)
class EntryPoint:
    """A validated entry point inside ``code_dir``."""

    code_dir: Path
    name: str
    kind: EntryPointType

    @classmethod
    def resolve(cls, code_dir: Path, name: Any) -> EntryPoint:
        """Validate ``name`` and check that a script or command exists inside ``code_dir``."""
        valid = validate_name(name)
        kind = entry_point_type(code_dir, valid)
        if kind is not EntryPointType.PYTHON_PACKAGE:
            root = os.path.realpath(code_dir)
            target = os.path.realpath(code_dir / valid)
            if os.path.commonpath([root, target]) != root:
                raise EntryPointError(
                    f"The training entry point {valid!r} resolves to {target}, outside "
                    f"the source directory {code_dir}."
                )
            if not os.path.isfile(target):
                present = sorted(p.name for p in code_dir.iterdir()) if code_dir.is_dir() else []
                raise EntryPointError(
                    f"The training entry point {valid!r} is not a file in the source "
                    f"directory {code_dir} (it holds: {', '.join(present[:20]) or 'nothing'})."
                )
        return cls(code_dir=code_dir, name=valid, kind=kind)

    @property
    def path(self) -> Path:
        return self.code_dir / self.name

    @property
    def module(self) -> str:
        """The module ``python -m`` runs for a package entry point."""
        return re.sub(r"\.py$", "", self.name).replace("/", ".")

    def command(self, args: Sequence[str], python: str) -> list[str]:
        """The argv that runs this entry point with ``args``, from ``code_dir``."""
        if self.kind is EntryPointType.PYTHON_PACKAGE:
            return [python, "-m", self.module, *args]
        if self.kind is EntryPointType.PYTHON_PROGRAM:
            return [python, "--", self.name, *args]
        line = " ".join([f"./{shlex.quote(self.name)}", *(shlex.quote(a) for a in args)])
        return ["/bin/sh", "-c", line]

    def make_executable(self) -> None:
        """A command entry point gets its execute bits, as the toolkit chmods it."""
        if self.kind is EntryPointType.COMMAND:
            mode = self.path.stat().st_mode
            self.path.chmod(mode | 0o111)
