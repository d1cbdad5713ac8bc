"""``modelyard s3`` commands against a real control-plane server, as a user types them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fixtures.asgi_server import serve_modelyard
from typer.testing import CliRunner, Result

from modelyard.cli import common
from modelyard.cli.s3 import app
from modelyard.config import Settings
from modelyard.sdk.client import ApiClient


@pytest.fixture
def s3(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands reach a server of this test's home."""
    with serve_modelyard(settings) as url, ApiClient(url) as api:
        monkeypatch.setattr(common, "client", lambda: api)
        yield CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_make_list_and_remove_buckets(s3: CliRunner) -> None:
    assert "make_bucket: data" in run(s3, "mb", "s3://data").output
    listed = json.loads(run(s3, "ls", "--json").stdout)
    assert [b["Name"] for b in listed] == ["data"]
    assert "remove_bucket: data" in run(s3, "rb", "s3://data").output


def test_copy_a_file_up_list_it_and_copy_it_down(s3: CliRunner, tmp_path: Path) -> None:
    run(s3, "mb", "s3://data")
    local = tmp_path / "train.csv"
    local.write_text("x,y\n1,2\n")

    assert "upload:" in run(s3, "cp", str(local), "s3://data/input/").output
    entries = json.loads(run(s3, "ls", "s3://data/input/", "--json").stdout)
    assert [e["Key"] for e in entries] == ["input/train.csv"]
    table = run(s3, "ls", "s3://data").output
    assert "PRE" in table
    assert "input/" in table

    run(s3, "cp", "s3://data/input/train.csv", str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_text() == "x,y\n1,2\n"


def test_recursive_copies_and_removal(s3: CliRunner, tmp_path: Path) -> None:
    run(s3, "mb", "s3://data")
    for name in ["a.txt", "sub/b.txt"]:
        (tmp_path / "tree" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / name).write_text(name)

    run(s3, "cp", "--recursive", str(tmp_path / "tree"), "s3://data/run")
    run(s3, "cp", "--recursive", "s3://data/run", "s3://data/backup")
    run(s3, "cp", "--recursive", "s3://data/backup", str(tmp_path / "restored"))
    assert (tmp_path / "restored" / "sub" / "b.txt").read_text() == "sub/b.txt"

    keys = [e["Key"] for e in json.loads(run(s3, "ls", "-r", "s3://data", "--json").stdout)]
    assert keys == ["backup/a.txt", "backup/sub/b.txt", "run/a.txt", "run/sub/b.txt"]

    removed = run(s3, "rm", "--recursive", "s3://data/run").output
    assert removed.count("delete:") == 2
    run(s3, "rm", "s3://data/backup/a.txt")
    keys = [e["Key"] for e in json.loads(run(s3, "ls", "-r", "s3://data", "--json").stdout)]
    assert keys == ["backup/sub/b.txt"]


def test_errors_are_one_clear_line_and_exit_1(s3: CliRunner, tmp_path: Path) -> None:
    run(s3, "mb", "s3://data")
    run(s3, "cp", str(_file(tmp_path)), "s3://data/keep")

    for args in (
        ["rb", "s3://data"],
        ["cp", "s3://data/missing", str(tmp_path / "x")],
        ["cp", str(_file(tmp_path)), "s3://data/a/../keep"],
        ["ls", "s3://Bad_Bucket"],
        ["cp", str(tmp_path), "s3://data/dir"],
        ["cp", "a", "b"],
    ):
        result = s3.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert "error" in result.output
        assert "Traceback" not in result.output
    assert [e["Key"] for e in json.loads(run(s3, "ls", "s3://data", "--json").stdout)] == ["keep"]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_text("content")
    return path
