"""Conformance against the real sagemaker-training toolkit, used as an oracle.

For the same job directory, the official ``sagemaker_training.environment.Environment``
and modelyard's :func:`load_environment` must produce the same ``SM_*`` variables (every
key, every value, the same order), the same argv and the same extra process variables;
and a script run by the official ``train`` must see what it sees when run by ours.

The toolkit computes its paths at import time from ``SAGEMAKER_BASE_DIR`` and sets
process variables as a side effect, so it runs in a fresh subprocess per job. Its
``Environment()`` does no DNS look-up; its ``train`` waits (up to 15 minutes) until every
host in resourceconfig.json resolves, which ``algo-1``/``algo-2`` do not here: the toolkit's
own switch ``SM_STUDIO_LOCAL_MODE=true`` skips that wait, so nothing is patched.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import sagemaker_training.environment  # noqa: F401  (the oracle: a test extra, never skipped)

from modelyard.container.environment import load_environment
from modelyard.container.jobdir import resource_config, write_job_dir

from .conftest import clean_environ, ours, run_toolkit

ORACLE = """
import json, os, sys
from sagemaker_training import environment
env = environment.Environment()
result = {
    "env_vars": env.to_env_vars(),
    "argv": env.to_cmd_args(),
    "process": {k: os.environ.get(k) for k in ("SAGEMAKER_JOB_NAME", "CURRENT_HOST",
                                              "SAGEMAKER_REGION")},
}
with open(sys.argv[1], "w") as f:
    json.dump(result, f)
"""

CHANNEL = {
    "TrainingInputMode": "File",
    "S3DistributionType": "FullyReplicated",
    "RecordWrapperType": "None",
}

TWO_HOSTS: dict[str, Any] = {
    "hyperparameters": {
        "epochs": "10",
        "learning-rate": "0.05",
        "sci": "1e-3",
        "use_cuda": "false",
        "model_name": '"bert-base"',
        "plain": "not json",
        "layers": "[64, 32]",
        "opts": '{"beta": 0.9, "alpha": "x"}',
        "nothing": "null",
        "k": "5",
        "unicode": '"caf\\u00e9"',
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"s3://bucket/job/source/sourcedir.tar.gz"',
        "sagemaker_region": '"us-west-2"',
        "sagemaker_job_name": '"conformance-job"',
        "sagemaker_container_log_level": "20",
        "sagemaker_enable_cloudwatch_metrics": "false",
        "sagemaker_custom_flag": '"zz"',
        "_tuning_objective_metric": '"validation:auc"',
    },
    "input_data_config": {
        "train": {"ContentType": "text/csv", **CHANNEL},
        "validation-set": CHANNEL,
        "test.v2": {**CHANNEL, "S3DistributionType": "ShardedByS3Key"},
    },
    "resource_config": resource_config(
        {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}, "algo-2"
    ),
    "environ": {},
}

HETEROGENEOUS: dict[str, Any] = {
    "hyperparameters": {
        "batch_size": "256",
        "sagemaker_program": '"bin/train.py"',
        "sagemaker_torch_distributed_enabled": "true",
        "sagemaker_distribution_instance_groups": '["gpus"]',
        "sagemaker_container_log_level": "10",
    },
    "input_data_config": {
        "train": CHANNEL,
        "labels": {"ContentType": "application/json", **CHANNEL},
    },
    "resource_config": resource_config(
        {
            "InstanceGroups": [
                {"InstanceGroupName": "gpus", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 2},
                {"InstanceGroupName": "cpus", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
            ]
        },
        "algo-3",
    ),
    "environ": {
        "TRAINING_JOB_NAME": "hetero-job",
        "SAGEMAKER_TRAINING_MODULE": "some_framework.training:main",
        "SM_HP_MP_PARAMETERS": '{"partitions": 2}',
        "AWS_DEFAULT_REGION": "eu-central-1",
    },
}

LEGACY_MINIMAL: dict[str, Any] = {
    "hyperparameters": {"a": "1", "sagemaker_mpi_enabled": "true"},
    "input_data_config": {},
    "resource_config": {
        "current_host": "algo-1",
        "hosts": ["algo-1"],
        "topology": [{"hostName": "algo-1", "capacityUnitId": "u-1"}],
    },
    "environ": {"SAGEMAKER_PROGRAM": "entry.sh", "SM_HP_MP_PARAMETERS": ""},
}

CASES = {"two-hosts": TWO_HOSTS, "heterogeneous": HETEROGENEOUS, "legacy-minimal": LEGACY_MINIMAL}


def differences(theirs: dict[str, str], mine: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(set(theirs) | set(mine)):
        if key not in mine:
            lines.append(f"missing  {key}={theirs[key]!r}")
        elif key not in theirs:
            lines.append(f"extra    {key}={mine[key]!r}")
        elif theirs[key] != mine[key]:
            lines.append(
                f"differs  {key}:\n  toolkit:   {theirs[key]!r}\n  modelyard: {mine[key]!r}"
            )
    return lines


def write_case(base: Path, case: dict[str, Any]) -> None:
    write_job_dir(
        base,
        hyperparameters=case["hyperparameters"],
        input_data_config=case["input_data_config"],
        resource_config=case["resource_config"],
    )


@pytest.mark.parametrize("name", list(CASES))
def test_sm_environment_equals_the_toolkits(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    base = tmp_path / "ml"
    write_case(base, case)
    environ = clean_environ(base, tmp_path, case["environ"])
    oracle_out = tmp_path / "oracle.json"
    completed = run_toolkit([sys.executable, "-c", ORACLE, str(oracle_out)], environ, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    oracle = json.loads(oracle_out.read_text())

    env = load_environment(environ)
    mine = env.to_env_vars()

    diff = differences(oracle["env_vars"], mine)
    assert not diff, "SM_* variables differ from sagemaker-training's:\n" + "\n".join(diff)
    assert list(mine) == list(oracle["env_vars"]), "same variables, different order"
    assert env.to_cmd_args() == oracle["argv"]
    assert env.process_env_vars() == oracle["process"]


DUMP = """
import json, os, sys
seen = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items()
            if k.startswith("SM_") or k in ("SAGEMAKER_JOB_NAME", "CURRENT_HOST",
                                            "SAGEMAKER_REGION")},
    "pythonpath": os.environ.get("PYTHONPATH", "").split(":"),
}
with open(os.environ["DUMP_TO"], "w") as f:
    json.dump(seen, f)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


def run_job(
    toolkit: str, tmp_path: Path, source: Path, exit_with: int = 0
) -> tuple[int, dict[str, Any], Path]:
    """Run TWO_HOSTS's job with a dump script, from the same base directory each time."""
    base = tmp_path / "ml"
    shutil.rmtree(base, ignore_errors=True)
    case = dict(TWO_HOSTS)
    case["hyperparameters"] = {
        **TWO_HOSTS["hyperparameters"],
        "sagemaker_submit_directory": json.dumps(str(source)),
    }
    write_case(base, case)
    dump = tmp_path / f"{toolkit}.json"
    environ = clean_environ(
        base,
        tmp_path,
        {"DUMP_TO": str(dump), "EXIT_WITH": str(exit_with), "SM_STUDIO_LOCAL_MODE": "true"},
    )
    command = (
        [sys.executable, "-m", "sagemaker_training.cli.train"] if toolkit == "oracle" else ours()
    )
    completed = run_toolkit(command, environ, cwd=tmp_path)
    seen = json.loads(dump.read_text()) if dump.exists() else {}
    assert seen, f"{toolkit} did not run the script:\n{completed.stderr[-3000:]}"
    return completed.returncode, seen, base


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(DUMP)
    return src


def test_a_script_sees_the_same_argv_and_environment(tmp_path: Path, source: Path) -> None:
    rc_oracle, theirs, base = run_job("oracle", tmp_path, source)
    assert rc_oracle == 0
    assert (base / "output" / "success").exists()
    rc_ours, mine, base = run_job("modelyard", tmp_path, source)
    assert rc_ours == 0
    assert (base / "output" / "success").exists()

    assert mine["argv"] == theirs["argv"]
    assert mine["cwd"] == theirs["cwd"] == str(base / "code")
    diff = differences(theirs["env"], mine["env"])
    assert not diff, "the script's environment differs:\n" + "\n".join(diff)
    # The toolkit's PYTHONPATH is its own sys.path; ours is code/ + the image's PYTHONPATH.
    assert mine["pythonpath"][0] == theirs["pythonpath"][0] == str(base / "code")


def test_a_failing_script_gets_the_toolkits_failure_frame(tmp_path: Path, source: Path) -> None:
    rc_oracle, _, base = run_job("oracle", tmp_path, source, exit_with=3)
    theirs = (base / "output" / "failure").read_text()
    rc_ours, _, base = run_job("modelyard", tmp_path, source, exit_with=3)
    mine = (base / "output" / "failure").read_text()

    assert rc_oracle == rc_ours == 1
    their_lines, my_lines = theirs.splitlines(), mine.splitlines()
    assert my_lines[:2] == their_lines[:2] == ["ExecuteUserScriptError:", "ExitCode 3"]
    assert my_lines[-1] == their_lines[-1]  # Command "<python> -- train.py --epochs 10 ..."
    assert their_lines[-1].startswith(f'Command "{sys.executable} -- train.py ')
