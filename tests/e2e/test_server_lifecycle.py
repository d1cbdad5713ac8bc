"""The control plane as a user meets it: up, use, crash, up again, nothing lost."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil

from tests.e2e.conftest import Cli


def server_pid(home: Path) -> int:
    return int(json.loads((home / "run" / "server.json").read_text())["pid"])


def test_up_is_idempotent_and_down_stops_it(cli: Cli, modelyard_home: Path) -> None:
    first = cli.run("up").stdout
    again = cli.run("up").stdout
    assert first.split()[-1] == again.split()[-1]
    pid = server_pid(modelyard_home)
    assert "stopped" in cli.run("down").stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "no modelyard server" in cli.run("down").stdout


def test_store_survives_a_killed_server(cli: Cli, modelyard_home: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    (dataset / "nested").mkdir(parents=True)
    (dataset / "a.csv").write_text("1,2,3\n")
    (dataset / "nested" / "b.csv").write_bytes(os.urandom(300_000))
    cli.run("up")
    cli.run("s3", "mb", "s3://data")
    cli.run("s3", "cp", "--recursive", str(dataset), "s3://data/train/")

    os.kill(server_pid(modelyard_home), signal.SIGKILL)
    cli.run("up")

    listing = json.loads(cli.run("s3", "ls", "--recursive", "--json", "s3://data/train/").stdout)
    keys = sorted(row["Key"] for row in listing)
    assert keys == ["train/a.csv", "train/nested/b.csv"]
    back = tmp_path / "back"
    cli.run("s3", "cp", "--recursive", "s3://data/train/", str(back))
    assert (back / "nested" / "b.csv").read_bytes() == (dataset / "nested" / "b.csv").read_bytes()


def test_config_masks_the_token(cli: Cli) -> None:
    cli.env["MODELYARD_API_TOKEN"] = "super-secret"
    shown = cli.run("config").stdout
    assert "super-secret" not in shown
    assert json.loads(shown)["api_token"] == "********"


def test_bad_input_is_one_clear_line_not_a_traceback(cli: Cli) -> None:
    cli.run("up")
    result = cli.run("s3", "cp", __file__, "s3://data/../escape.py", check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "Key" in result.stderr + result.stdout


def test_invalid_settings_are_reported_by_name(cli: Cli) -> None:
    cli.env["MODELYARD_SERVER_HOST"] = "0.0.0.0"
    result = cli.run("config", check=False)
    assert result.returncode == 2
    assert "MODELYARD_API_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
