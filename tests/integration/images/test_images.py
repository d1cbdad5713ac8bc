"""The image registry and builder on real builds (a tiny package, about a second each)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelyard.catalog import SqlCatalog, open_catalog
from modelyard.config import Settings
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    ImageBuildError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind
from modelyard.images import ImageRegistry, ImageSpec, VenvBuilder, catalog_name
from modelyard.images import toolkit as toolkit_module
from modelyard.images.builder import READY_FILE
from modelyard.runtime import ContainerSpec, LocalProcessRuntime, get_runtime

#: A tiny pure-Python package of the local wheel index: builds in about a second.
TINY_PACKAGE = "six==1.17.0"


def tiny_spec(tag: str = "1", **overrides: object) -> ImageSpec:
    return ImageSpec.parse({"name": "tiny", "tag": tag, "packages": [TINY_PACKAGE], **overrides})


def run_in_image(runtime: LocalProcessRuntime, env_root: Path, code: str) -> tuple[int, str]:
    handle = runtime.launch(
        ContainerSpec(name="probe", command=["python", "-c", code], image_root=env_root)
    )
    code_ = handle.wait(60)
    assert code_ is not None
    return code_, "\n".join(handle.logs())


def test_a_built_image_runs_its_packages_and_the_toolkit_without_the_server_deps(
    registry: ImageRegistry, runtime: LocalProcessRuntime
) -> None:
    record = registry.register(tiny_spec())
    assert registry.describe("tiny:1")["ImageStatus"] == "Pending"

    record = registry.build("tiny:1", wait=True)
    assert record.status == "Ready"
    described = registry.describe("tiny:1")
    env_root = Path(described["EnvironmentPath"])
    assert described["ImageArn"].endswith(f":image/{catalog_name('tiny', '1')}")
    assert described["Packages"] == [TINY_PACKAGE]
    assert Path(described["BuildLogPath"]).read_text().count("Successfully installed six") == 1

    probe = (
        "import sys, six, modelyard.container\n"
        "print(sys.prefix)\n"
        "for name in ('pydantic', 'fastapi', 'modelyard.config'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "        print('unexpected', name)\n"
        "    except ImportError:\n"
        "        print('absent', name)\n"
    )
    exit_code, output = run_in_image(runtime, env_root, probe)
    assert exit_code == 0, output
    assert output.splitlines() == [
        str(env_root),
        "absent pydantic",
        "absent fastapi",
        "absent modelyard.config",
    ]


def test_a_second_build_of_a_ready_spec_is_instant(
    registry: ImageRegistry, images_settings: Settings
) -> None:
    registry.register(tiny_spec())
    registry.build("tiny:1", wait=True)
    builder = registry.builder
    spec_hash = tiny_spec().spec_hash
    marker = builder.build_dir(spec_hash) / READY_FILE
    stamps = (marker.stat().st_mtime_ns, builder.log_path(spec_hash).stat().st_mtime_ns)

    started = time.monotonic()
    assert registry.build("tiny:1", wait=True).status == "Ready"
    assert builder.ensure_built(tiny_spec()) == builder.env_dir(spec_hash)
    # Another name for the same environment is ready as soon as it is registered.
    assert registry.register(tiny_spec(tag="alias")).status == "Ready"
    assert time.monotonic() - started < 0.5
    assert (marker.stat().st_mtime_ns, builder.log_path(spec_hash).stat().st_mtime_ns) == stamps


def test_concurrent_builds_of_one_spec_build_it_once(tmp_path: Path) -> None:
    builder = VenvBuilder(tmp_path / "images")
    spec_file = builder.write_spec(tiny_spec())
    command = [
        sys.executable,
        "-m",
        "modelyard.images.build",
        str(spec_file),
        str(tmp_path / "images"),
    ]
    builds = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [build.communicate(timeout=120)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0, 0], outputs
    assert sum(out.count("building tiny:1") for out in outputs) == 1, outputs
    assert builder.is_ready(tiny_spec())


def test_a_half_built_environment_is_rebuilt(tmp_path: Path) -> None:
    builder = VenvBuilder(tmp_path / "images")
    spec = ImageSpec(name="bare", tag="1")
    crashed = builder.env_dir(spec.spec_hash)
    crashed.mkdir(parents=True)
    (crashed / "garbage").write_text("left by a crash")
    env = builder.ensure_built(spec)
    assert not (env / "garbage").exists()
    assert (env / "bin" / "python").exists()
    assert builder.is_ready(spec)


def test_a_failed_build_is_failed_with_the_reason_from_its_log(registry: ImageRegistry) -> None:
    registry.register(
        ImageSpec(name="broken", tag="1", packages=("modelyard-no-such-package-zz==1.0",))
    )
    record = registry.build("broken:1", wait=True)
    assert record.status == "Failed"
    reason = registry.describe("broken:1")["FailureReason"]
    assert "modelyard-no-such-package-zz" in reason
    assert "exited with code 1" in reason
    with pytest.raises(ImageBuildError, match="modelyard-no-such-package-zz"):
        registry.ensure_ready("broken:1")


def test_build_logs_can_be_followed(registry: ImageRegistry) -> None:
    registry.register(tiny_spec())
    registry.build("tiny:1")
    lines = list(registry.logs("tiny:1", follow=True))
    assert any("Successfully installed six" in line for line in lines)
    assert lines[-1].startswith("modelyard: built in")
    assert registry.get("tiny:1").status == "Ready"


def test_removing_is_refused_while_building(registry: ImageRegistry) -> None:
    registry.register(tiny_spec())
    registry.build("tiny:1")
    with pytest.raises(ConflictError) as refused:
        registry.remove("tiny:1")
    assert refused.value.http_status == 409
    registry.build("tiny:1", wait=True)
    registry.remove("tiny:1")
    with pytest.raises(NotFoundError):
        registry.get("tiny:1")


def test_register_twice_is_a_conflict_and_other_pythons_are_refused(
    registry: ImageRegistry,
) -> None:
    registry.register(tiny_spec())
    with pytest.raises(AlreadyExistsError):
        registry.register(tiny_spec())
    other = "3.10" if sys.version_info[:2] != (3, 10) else "3.12"
    with pytest.raises(ValidationError, match="server's interpreter") as refused:
        registry.register(tiny_spec(tag="old", python_version=other))
    assert refused.value.field == "PythonVersion"


def test_a_users_image_from_requirements_and_a_code_directory(
    registry: ImageRegistry, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# my deps\n{TINY_PACKAGE}\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('training')\n")
    registry.register_from_requirements("mine", "v1", requirements, code, entry_point="train.py")
    env = registry.ensure_ready("mine:v1")
    assert (env / "code" / "train.py").read_text() == "print('training')\n"
    described = registry.describe("mine:v1")
    assert described["EntryPoint"] == "train.py"

    # The code is snapshotted at registration: an edit makes a new environment.
    (code / "train.py").write_text("print('training v2')\n")
    registry.register_from_requirements("mine", "v2", requirements, code)
    assert registry.describe("mine:v2")["SpecHash"] != described["SpecHash"]
    assert (env / "code" / "train.py").read_text() == "print('training')\n"


def test_editing_the_toolkit_relinks_without_rebuilding(
    registry: ImageRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register(tiny_spec())
    env = registry.ensure_ready("tiny:1")
    builder = registry.builder
    marker = builder.build_dir(tiny_spec().spec_hash) / READY_FILE
    built_at = marker.stat().st_mtime_ns
    pth = toolkit_module.site_packages(env, tiny_spec().python_version) / toolkit_module.PTH_NAME
    before = pth.read_text()

    monkeypatch.setattr(toolkit_module, "toolkit_hash", lambda: "f" * 64)
    assert registry.ensure_ready("tiny:1") == env
    assert pth.read_text() != before
    assert "ffffffff" in pth.read_text()
    assert marker.stat().st_mtime_ns == built_at


def test_framework_images_are_registered_without_building(registry: ImageRegistry) -> None:
    assert registry.framework_image("scikit-learn", "1.2") == "sklearn:1.2-1"
    described = registry.describe("sklearn:1.2-1")
    assert described["ImageStatus"] == "Pending"
    assert described["Framework"] == "sklearn"
    assert "scikit-learn==1.2.2" in described["Packages"]
    assert not registry.builder.build_dir(described["SpecHash"]).exists()
    with pytest.raises(ValidationError, match=r"1\.2-1, 1\.4-2, 1\.5"):
        registry.framework_image("sklearn", "0.23-1")
    registry.reconcile()
    names = {f"{r.spec['ImageName']}:{r.spec['ImageTag']}" for r in registry.list()}
    assert {"sklearn:1.5", "xgboost:2.1", "pytorch:2.13"} <= names


def _fresh_registry(settings: Settings) -> tuple[ImageRegistry, SqlCatalog]:
    """What a restarted server builds: new catalog connection, runtime and builder."""
    catalog = open_catalog(settings)
    runtime = get_runtime(settings)
    return ImageRegistry(catalog, runtime, VenvBuilder(settings.images_dir), settings), catalog


def test_a_restarted_server_reconciles_a_running_build_to_ready(
    registry: ImageRegistry, images_settings: Settings
) -> None:
    registry.register(tiny_spec())
    launched = registry.build("tiny:1")
    assert launched.status == "Building"
    assert launched.state["BuildHandle"]
    del registry  # the server is gone; its build container is not

    restarted, catalog = _fresh_registry(images_settings)
    try:
        restarted.reconcile()
        assert restarted.get("tiny:1").status in ("Building", "Ready")
        handle = restarted.runtime.adopt(launched.state["BuildHandle"])
        assert handle.wait(120) == 0
        assert restarted.get("tiny:1").status == "Ready"
    finally:
        catalog.close()


def test_a_build_whose_launch_was_never_recorded_is_launched_again(
    registry: ImageRegistry, catalog: SqlCatalog, images_settings: Settings
) -> None:
    registry.register(tiny_spec())
    name = catalog_name("tiny", "1")
    # The server died after saying Building and before launching the build.
    catalog.transition(ResourceKind.IMAGE, name, "Building", secondary_status="Building")

    restarted, other_catalog = _fresh_registry(images_settings)
    try:
        restarted.reconcile()
        assert restarted.get("tiny:1").state["BuildHandle"]
        assert restarted.build("tiny:1", wait=True).status == "Ready"
    finally:
        other_catalog.close()


def test_images_dir_defaults_to_the_shared_cache(settings: Settings) -> None:
    if "MODELYARD_IMAGES_DIR" not in os.environ:
        assert settings.images_dir == Path.home() / ".cache" / "modelyard" / "images"
