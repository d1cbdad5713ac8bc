"""``smspark-submit`` for modelyard's Spark image: ``python -m modelyard.container.spark_submit``.

SageMaker's Spark processing images start ``smspark-submit [options] app [arguments]``;
the processing controller maps that entry point here. Options, as sagemaker's
``PySparkProcessor`` passes them:

``--py-files``, ``--jars``, ``--files``
    comma-separated paths; a directory (``/opt/ml/processing/input/py-files``) stands for
    the files in it.
``--class``
    the main class of a jar application.
``--local-spark-event-logs-dir DIR``
    Spark writes its event log there (a Continuous output uploads it).
``--verbose``
    passed on to ``spark-submit``.

``/opt/ml/processing/input/conf/configuration.json`` (EMR-style classifications), when
present, adds every ``spark-defaults`` property as ``--conf key=value``.

The master is ``MODELYARD_SPARK_MASTER`` when the job's environment sets it (a real
cluster: ``spark://host:7077``), else ``local[N]`` with N the CPUs this container may use
(the instance type's, through the CPU affinity the runtime set). In local mode only
``algo-1`` runs the application; other hosts of the job have nothing to join and exit 0.

The environment is completed for Spark: ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON``
are this (the image's) Python, ``SPARK_LOCAL_IP`` is ``127.0.0.1`` in local mode, and
``JAVA_HOME`` is found from ``java`` on the PATH (Debian's ``openjdk-17-jre-headless``)
when unset. The Spark UI is off. Standard library only (the image has pyspark itself).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

MASTER_ENV = "MODELYARD_SPARK_MASTER"
CONFIGURATION = Path("/opt/ml/processing/input/conf/configuration.json")
RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")
_LIST_OPTIONS = ("--py-files", "--jars", "--files")
_VALUE_OPTIONS = (*_LIST_OPTIONS, "--class", "--local-spark-event-logs-dir")
_SUFFIXES = {"--py-files": (".py", ".zip", ".egg"), "--jars": (".jar",), "--files": ()}


class UsageError(Exception):
    """The command line cannot be run."""


def parse(argv: list[str]) -> tuple[dict[str, str], bool, list[str]]:
    """``(options, verbose, [app, *arguments])``."""
    options: dict[str, str] = {}
    verbose = False
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        flag = rest.pop(0)
        if flag == "--verbose":
            verbose = True
        elif flag in _VALUE_OPTIONS:
            if not rest:
                raise UsageError(f"{flag} needs a value")
            options[flag] = rest.pop(0)
        else:
            raise UsageError(f"unknown option {flag}")
    if not rest:
        raise UsageError("no application given: smspark-submit [options] app.py [arguments]")
    return options, verbose, rest


def expand(value: str, suffixes: tuple[str, ...]) -> str:
    """Comma-separated paths, each directory replaced by its files (of ``suffixes``)."""
    found: list[str] = []
    for item in (part for part in value.split(",") if part):
        path = Path(item)
        if path.is_dir():
            found += sorted(
                str(child)
                for child in path.iterdir()
                if child.is_file() and (not suffixes or child.suffix in suffixes)
            )
        else:
            found.append(item)
    return ",".join(found)


def configuration_properties(path: Path = CONFIGURATION) -> dict[str, str]:
    """``spark-defaults`` properties of the configuration file, if any."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    properties: dict[str, str] = {}
    for item in data if isinstance(data, list) else [data]:
        if item.get("Classification") == "spark-defaults":
            properties.update({str(k): str(v) for k, v in item.get("Properties", {}).items()})
    return properties


def current_host(path: Path = RESOURCE_CONFIG) -> tuple[str, list[str]]:
    if not path.is_file():
        return "algo-1", ["algo-1"]
    data = json.loads(path.read_text(encoding="utf-8"))
    return str(data["current_host"]), list(data["hosts"])


def find_java_home() -> str | None:
    java = shutil.which("java")
    return str(Path(os.path.realpath(java)).parent.parent) if java else None


def spark_submit_path() -> str:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("pyspark is not installed in this image: use the spark framework image")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "spark-submit")


def command(argv: list[str], env: dict[str, str]) -> list[str]:
    """The ``spark-submit`` argv for ``argv`` (and fills ``env`` in)."""
    options, verbose, application = parse(argv)
    master = env.get(MASTER_ENV) or f"local[{len(os.sched_getaffinity(0))}]"
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java_home = env.get("JAVA_HOME") or find_java_home()
    if java_home is None:
        raise UsageError(
            "no Java found: Spark needs a Java runtime (Debian package openjdk-17-jre-headless)"
        )
    env["JAVA_HOME"] = java_home
    args = [spark_submit_path(), "--master", master, "--conf", "spark.ui.enabled=false"]
    for flag in _LIST_OPTIONS:
        if flag in options:
            expanded = expand(options[flag], _SUFFIXES[flag])
            if expanded:
                args += [flag, expanded]
    if "--class" in options:
        args += ["--class", options["--class"]]
    events = options.get("--local-spark-event-logs-dir")
    if events:
        Path(events).mkdir(parents=True, exist_ok=True)
        args += ["--conf", "spark.eventLog.enabled=true"]
        args += ["--conf", f"spark.eventLog.dir=file://{Path(events).resolve()}"]
    for key, value in configuration_properties().items():
        args += ["--conf", f"{key}={value}"]
    if verbose:
        args.append("--verbose")
    return [*args, *application]


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    try:
        host, hosts = current_host()
        if host != hosts[0]:
            print(f"smspark-submit: {host} has nothing to do: the application runs on {hosts[0]}")
            return 0
        args = command(argv, env)
    except (UsageError, ValueError, OSError) as exc:
        print(f"smspark-submit: {exc}", file=sys.stderr)
        return 2
    print("smspark-submit:", " ".join(args), flush=True)
    os.execve(args[0], args, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
