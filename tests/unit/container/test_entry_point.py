"""Entry point kinds, names and the commands that run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.container.entry_point import EntryPoint, EntryPointType, validate_name
from modelyard.container.errors import EntryPointError


@pytest.mark.parametrize(
    "name", ["", None, "-m", "/abs/train.py", "../up.py", "a/./b.py", "a b.py", "x;rm"]
)
def test_unsafe_names_are_user_errors(name: str | None) -> None:
    with pytest.raises(EntryPointError):
        validate_name(name)


@pytest.mark.parametrize("name", ["train.py", "bin/train.sh", "run", "my_pkg.main+v2"])
def test_plain_relative_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    for name in ("train.py", "bin/run.sh", "launch"):
        (tmp_path / name).write_text("")
    return tmp_path


def test_script_mode_command(code: Path) -> None:
    entry = EntryPoint.resolve(code, "train.py")
    assert entry.kind is EntryPointType.PYTHON_PROGRAM
    assert entry.command(["--a", "1"], "/py") == ["/py", "--", "train.py", "--a", "1"]


def test_shell_command_quotes_every_argument(code: Path) -> None:
    entry = EntryPoint.resolve(code, "bin/run.sh")
    assert entry.kind is EntryPointType.COMMAND
    assert entry.command(["--msg", "a b; rm -rf /"], "/py") == [
        "/bin/sh",
        "-c",
        "./bin/run.sh --msg 'a b; rm -rf /'",
    ]


def test_other_names_are_commands_made_executable(code: Path) -> None:
    entry = EntryPoint.resolve(code, "launch")
    assert entry.kind is EntryPointType.COMMAND
    entry.make_executable()
    assert (code / "launch").stat().st_mode & 0o111 == 0o111


def test_a_setup_py_makes_it_a_package_run_as_a_module(code: Path) -> None:
    (code / "setup.py").write_text("")
    entry = EntryPoint.resolve(code, "train.py")
    assert entry.kind is EntryPointType.PYTHON_PACKAGE
    assert entry.command(["-x", "1"], "/py") == ["/py", "-m", "train", "-x", "1"]


def test_a_missing_script_names_what_is_there(code: Path) -> None:
    with pytest.raises(EntryPointError, match=r"not a file .* train\.py"):
        EntryPoint.resolve(code, "trian.py")


def test_a_symlink_out_of_the_source_directory_is_refused(code: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / "outside.py"
    outside.write_text("")
    (code / "link.py").symlink_to(outside)
    with pytest.raises(EntryPointError, match="outside"):
        EntryPoint.resolve(code, "link.py")
