"""smspark-submit's translation into spark-submit (no JVM is started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.container import spark_submit


@pytest.fixture(autouse=True)
def _spark_submit_script(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dev environment has no pyspark (the Spark image has)."""
    monkeypatch.setattr(spark_submit, "spark_submit_path", lambda: "/spark/bin/spark-submit")


def test_options_become_spark_submit_arguments(tmp_path: Path) -> None:
    py_files = tmp_path / "py-files"
    py_files.mkdir()
    (py_files / "helpers.py").write_text("")
    (py_files / "notes.txt").write_text("")
    env: dict[str, str] = {"JAVA_HOME": "/jvm"}
    argv = spark_submit.command(
        [
            "--py-files",
            str(py_files),
            "--local-spark-event-logs-dir",
            str(tmp_path / "ev"),
            "app.py",
            "--input",
            "x",
        ],
        env,
    )
    cores = len(os.sched_getaffinity(0))
    assert argv[1:3] == ["--master", f"local[{cores}]"]
    assert argv[argv.index("--py-files") + 1] == str(py_files / "helpers.py")
    assert f"spark.eventLog.dir=file://{tmp_path / 'ev'}" in argv
    assert argv[-3:] == ["app.py", "--input", "x"]
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"]


def test_a_master_url_runs_on_a_cluster() -> None:
    env = {"JAVA_HOME": "/jvm", spark_submit.MASTER_ENV: "spark://head:7077"}
    argv = spark_submit.command(["app.py"], env)
    assert argv[1:3] == ["--master", "spark://head:7077"]
    assert "SPARK_LOCAL_IP" not in env


def test_spark_defaults_come_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "configuration.json"
    path.write_text(
        '[{"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "2g"}},'
        ' {"Classification": "core-site", "Properties": {"x": "y"}}]'
    )
    assert spark_submit.configuration_properties(path) == {"spark.executor.memory": "2g"}


@pytest.mark.parametrize("argv", [[], ["--py-files"], ["--nope", "app.py"]])
def test_bad_command_lines_are_refused(argv: list[str]) -> None:
    with pytest.raises(spark_submit.UsageError):
        spark_submit.parse(argv)
