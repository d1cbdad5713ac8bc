"""The failure contract: what output/failure holds and the FailureReason made of it."""

from __future__ import annotations

from modelyard.container.errors import (
    EXIT_PLATFORM_ERROR,
    FAILURE_REASON_MAX_CHARS,
    ExecuteUserScriptError,
    InstallRequirementsError,
    PlatformError,
    UserError,
    failure_reason,
)


def test_user_script_error_uses_the_toolkits_wording() -> None:
    error = ExecuteUserScriptError(
        ["/usr/bin/python3", "--", "train.py", "--epochs", "3"], 1, "ValueError: boom\n"
    )
    assert str(error) == (
        'ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: boom"\n'
        'Command "/usr/bin/python3 -- train.py --epochs 3"'
    )
    assert error.exit_code == 1
    assert error.failure_text() == str(error)


def test_extra_info_line_sits_before_the_command() -> None:
    error = InstallRequirementsError(["pip", "install"], 137, "", "OutOfMemory: killed")
    assert str(error) == (
        'InstallRequirementsError:\nExitCode 137\nErrorMessage ""\n'
        'ExtraInfo "OutOfMemory: killed"\nCommand "pip install"'
    )


def test_long_stderr_keeps_its_end_and_the_reason_fits_1024_chars() -> None:
    traceback = "Traceback (most recent call last):\n" + "  frame\n" * 500 + "KeyError: 'x'"
    error = ExecuteUserScriptError(["python", "train.py", "--a", "b" * 2000], 1, traceback)
    reason = failure_reason(error.failure_text(), error.exit_code)
    assert reason is not None
    assert len(reason) <= FAILURE_REASON_MAX_CHARS
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert "KeyError: 'x'" in reason
    assert reason.endswith(", exit code: 1")


def test_failure_reason_of_a_user_failure_is_an_algorithm_error() -> None:
    assert failure_reason("my script broke", 1) == "AlgorithmError: my script broke, exit code: 1"


def test_failure_reason_without_a_failure_file_points_to_the_logs() -> None:
    assert failure_reason(None, 2) == (
        "AlgorithmError: See job logs for more information, exit code: 2"
    )


def test_failure_reason_is_none_for_a_zero_exit_code_whatever_the_file_says() -> None:
    assert failure_reason("ignored", 0) is None


def test_platform_errors_are_told_apart_by_exit_code_and_prefix() -> None:
    text = PlatformError("the job directory has no resourceconfig.json").failure_text()
    assert text == "PlatformError: the job directory has no resourceconfig.json"
    assert failure_reason(text, EXIT_PLATFORM_ERROR) == text
    # a user's script cannot pass itself off as the platform with either one alone
    assert failure_reason(text, 1) == f"AlgorithmError: {text}, exit code: 1"
    assert failure_reason("oops", EXIT_PLATFORM_ERROR) == "AlgorithmError: oops, exit code: 70"


def test_failure_reason_is_cut_to_1024_characters() -> None:
    reason = failure_reason("x" * 5000, 1)
    assert reason is not None
    assert len(reason) == FAILURE_REASON_MAX_CHARS
    assert reason.startswith("AlgorithmError: xxx")


def test_platform_failure_text_is_bounded() -> None:
    assert len(PlatformError("y" * 5000).failure_text()) < FAILURE_REASON_MAX_CHARS


def test_user_and_platform_errors_have_their_exit_codes() -> None:
    assert UserError("x").exit_code == 1
    assert PlatformError("x").exit_code == EXIT_PLATFORM_ERROR == 70
