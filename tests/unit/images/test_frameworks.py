"""Framework images: SageMaker version strings to pins, refused where they cannot install."""

from __future__ import annotations

import pytest

from modelyard.errors import ValidationError
from modelyard.images import buildable_versions, resolve
from modelyard.images.frameworks import all_buildable, frameworks


def test_sagemaker_version_strings_map_to_pins() -> None:
    assert resolve("sklearn", "1.2-1", "3.11").packages[0] == "scikit-learn==1.2.2"
    assert resolve("sklearn", "1.4-2", "3.11").packages[0] == "scikit-learn==1.4.2"
    assert resolve("sklearn", "1.5", "3.11").packages[0] == "scikit-learn==1.5.2"
    assert resolve("xgboost", "1.7-1", "3.11").packages[0] == "xgboost==1.7.6"
    assert resolve("pytorch", "2.13", "3.11").packages[0] == "torch==2.13.0"


def test_aliases_of_frameworks_and_versions() -> None:
    assert resolve("scikit-learn", "1.2", "3.11").version == "1.2-1"
    assert resolve("torch", "2.13.0", "3.11").name_tag == "pytorch:2.13"


def test_xgboost_2_uses_the_cpu_only_package() -> None:
    for version in ("2.1", "3.0-5"):
        packages = resolve("xgboost", version, "3.11").packages
        assert any(p.startswith("xgboost-cpu==") for p in packages)
        assert not any(p.startswith("xgboost==") for p in packages)


def test_every_framework_image_pins_its_common_dependencies() -> None:
    for framework in frameworks().values():
        for version in framework.versions.values():
            names = {p.split("==")[0] for p in version.packages}
            assert {"numpy", "pandas"} <= names, version
            if framework.name != "spark":  # Spark's image is for data, not for models
                assert "scipy" in names, version
            assert all("==" in p for p in version.packages), version


def test_a_version_that_cannot_install_here_is_refused_naming_those_that_can() -> None:
    with pytest.raises(ValidationError) as refused:
        resolve("sklearn", "1.0-1", "3.11")
    message = str(refused.value)
    assert "3.10" in message
    assert "1.2-1, 1.4-2, 1.5" in message
    assert refused.value.field == "FrameworkVersion"


def test_unknown_versions_and_frameworks_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"no version '9\.9'.*1\.7-1, 2\.1, 3\.0-5"):
        resolve("xgboost", "9.9", "3.11")
    with pytest.raises(ValidationError, match="pytorch, sklearn, spark, xgboost"):
        resolve("caffe", "1.0", "3.11")


def test_buildable_versions_follow_the_python_version() -> None:
    assert buildable_versions("sklearn", "3.11") == ["1.2-1", "1.4-2", "1.5"]
    assert buildable_versions("sklearn", "3.7") == ["0.23-1", "1.0-1"]
    assert {fv.name_tag for fv in all_buildable("3.11")} >= {"sklearn:1.5", "pytorch:2.13"}


def test_framework_image_spec_is_named_after_framework_and_version() -> None:
    spec = resolve("sklearn", "1.5", "3.11").image_spec()
    assert spec.name_tag == "sklearn:1.5"
    assert spec.framework == "sklearn"
    assert spec.include_toolkit
