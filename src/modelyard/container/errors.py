"""Who failed: the user's code (``UserError``) or modelyard (``PlatformError``).

The split is carried out of the container two ways, both a contract:

exit codes of ``python -m modelyard.container.training``
    ======  =====================================================================
    0       the entry point exited 0 (``output/success`` written)
    1       user error: the entry point exited non-zero, or its requirements, its
            source bundle or its name were bad (``output/failure`` written; the
            toolkit's ``DEFAULT_FAILURE_CODE``)
    70      platform error: modelyard's toolkit or the job directory the platform
            prepared was at fault (``output/failure`` written, starting with
            ``PlatformError:``; 70 is ``EX_SOFTWARE`` of sysexits.h)
    128+N   stopped by signal N (SIGTERM -> 143), which was forwarded to the entry
            point; no failure file is written, since a stop is not a failure
    ======  =====================================================================

``output/failure``
    A user error is written in the toolkit's own words, e.g.
    ``ExecuteUserScriptError:\\nExitCode 1\\nErrorMessage "ValueError: ..."\\nCommand "..."``;
    a platform error as ``PlatformError: <what went wrong>``. Both are kept short enough
    that the FailureReason built from them fits SageMaker's 1024 characters.

:func:`failure_reason` turns (failure file, exit code) into the job's FailureReason the
way SageMaker does: ``AlgorithmError: <failure file>, exit code: N`` for anything the
algorithm reported, or the ``PlatformError: ...`` text when modelyard's toolkit says it
failed itself. The job controller calls it outside the container.

    ContainerError
    ├── UserError                   exit 1, FailureReason "AlgorithmError: ..."
    │   ├── EntryPointError         no/invalid/missing entry point
    │   ├── SourceDirError          the source bundle cannot be staged
    │   ├── UnsafeArchiveError      a symlink escapes a directory being tarred
    │   └── CalledProcessError      a user-facing process failed (toolkit wording)
    │       ├── ExecuteUserScriptError
    │       ├── InstallRequirementsError
    │       └── InstallModuleError
    └── PlatformError               exit 70, FailureReason "PlatformError: ..."
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Final

EXIT_SUCCESS: Final = 0
EXIT_USER_ERROR: Final = 1
EXIT_PLATFORM_ERROR: Final = 70

FAILURE_REASON_MAX_CHARS: Final = 1024
ALGORITHM_ERROR_PREFIX: Final = "AlgorithmError: "
PLATFORM_ERROR_PREFIX: Final = "PlatformError: "
NO_FAILURE_FILE_TEXT: Final = "See job logs for more information"

# Room left for "AlgorithmError: " and ", exit code: NNN" around a failure file.
FAILURE_TEXT_BUDGET: Final = FAILURE_REASON_MAX_CHARS - len(ALGORITHM_ERROR_PREFIX) - 24
_COMMAND_BUDGET: Final = 240
_ELLIPSIS: Final = "..."


class ContainerError(Exception):
    """Root of the errors the training toolkit reports through the failure file."""

    exit_code: ClassVar[int] = EXIT_USER_ERROR

    def failure_text(self) -> str:
        """What goes into ``output/failure``."""
        return str(self)


class UserError(ContainerError):
    """The user's code, bundle or hyperparameters are at fault (SageMaker: AlgorithmError)."""

    exit_code = EXIT_USER_ERROR


class EntryPointError(UserError):
    """No entry point named, or one that is not a file inside the source directory."""


class SourceDirError(UserError):
    """The source directory (``sagemaker_submit_directory``) cannot be staged."""


class UnsafeArchiveError(UserError):
    """A directory to be archived holds a symlink leading out of it."""


class PlatformError(ContainerError):
    """modelyard failed: a missing or malformed job directory, or a bug of the toolkit."""

    exit_code = EXIT_PLATFORM_ERROR

    def failure_text(self) -> str:
        return clip_head(PLATFORM_ERROR_PREFIX + str(self), FAILURE_TEXT_BUDGET)


def clip_head(text: str, limit: int) -> str:
    """The first ``limit`` characters, marked with ``...`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(_ELLIPSIS), 0)] + _ELLIPSIS


def clip_tail(text: str, limit: int) -> str:
    """The last ``limit`` characters, marked with ``...`` when cut: errors end a log."""
    if len(text) <= limit:
        return text
    return _ELLIPSIS + text[len(text) - max(limit - len(_ELLIPSIS), 0) :]


class CalledProcessError(UserError):
    """A process run for the user failed; its message is the toolkit's, word for word.

    ``<ClassName>:\\nExitCode <n>\\nErrorMessage "<stderr>"``
    ``[\\nExtraInfo "<info>"]\\nCommand "<cmd>"``

    Unlike the toolkit, the stderr excerpt keeps its *end* (where Python prints the
    exception) and the command is shortened, so the whole text fits the FailureReason.
    """

    def __init__(
        self,
        command: Sequence[str],
        exit_code: int,
        error_output: str = "",
        extra_info: str | None = None,
    ) -> None:
        self.command = list(command)
        self.return_code = exit_code
        self.error_output = error_output
        self.extra_info = extra_info
        super().__init__(self._format())

    def _format(self) -> str:
        command = clip_head(" ".join(self.command), _COMMAND_BUDGET)
        extra = f'\nExtraInfo "{self.extra_info}"' if self.extra_info is not None else ""
        head = f'{type(self).__name__}:\nExitCode {self.return_code}\nErrorMessage "'
        tail = f'"{extra}\nCommand "{command}"'
        room = max(FAILURE_TEXT_BUDGET - len(head) - len(tail), 0)
        return head + clip_tail(self.error_output.strip(), room) + tail


class ExecuteUserScriptError(CalledProcessError):
    """The entry point exited non-zero."""


class InstallRequirementsError(CalledProcessError):
    """``pip install -r requirements.txt`` failed."""


class InstallModuleError(CalledProcessError):
    """``pip install .`` of a source directory with a setup.py failed."""


def failure_reason(failure_text: str | None, exit_code: int) -> str | None:
    """The FailureReason of a job whose container exited with ``exit_code``.

    None for exit code 0 (the exit code alone decides, as in SageMaker). Otherwise the
    failure file's text prefixed with ``AlgorithmError: `` and suffixed with the exit code,
    as SageMaker reports a failed algorithm, unless modelyard's toolkit said it failed
    itself (exit code 70 *and* a ``PlatformError:`` failure file). Cut to 1024 characters.
    For a job the platform stopped on purpose, do not call this: it is Stopped, not Failed.
    """
    if exit_code == EXIT_SUCCESS:
        return None
    text = (failure_text or "").strip()
    if exit_code == EXIT_PLATFORM_ERROR and text.startswith(PLATFORM_ERROR_PREFIX):
        reason = text
    else:
        reason = f"{ALGORITHM_ERROR_PREFIX}{text or NO_FAILURE_FILE_TEXT}, exit code: {exit_code}"
    return reason[:FAILURE_REASON_MAX_CHARS]
