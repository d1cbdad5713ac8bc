"""Image specs: validation, the request shape, and what the spec hash depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import ValidationError
from modelyard.ids import IMAGE_NAME
from modelyard.images import ImageSpec, catalog_name, parse_name_tag
from modelyard.images.spec import digest_directory


def test_spec_hash_depends_on_the_environment_only() -> None:
    base = ImageSpec(name="a", tag="1", packages=("six==1.17.0", "idna==3.10"))
    same = ImageSpec(
        name="b", tag="2", packages=("idna==3.10", "six==1.17.0"), entry_point="train.py"
    )
    assert base.spec_hash == same.spec_hash
    assert base.spec_hash != ImageSpec(name="a", packages=("six==1.16.0",)).spec_hash
    assert base.spec_hash != base.model_copy(update={"include_toolkit": False}).spec_hash
    commented = ImageSpec(name="a", requirements="# deps\nsix==1.17.0  # pinned\n\n")
    assert commented.spec_hash == ImageSpec(name="a", requirements="six==1.17.0").spec_hash


def test_pip_options_are_not_packages() -> None:
    with pytest.raises(ValidationError, match="packages"):
        ImageSpec.parse({"name": "a", "packages": ["--index-url=http://evil"]})


def test_request_shape_round_trips() -> None:
    spec = ImageSpec(name="my-image", tag="v1", packages=("six==1.17.0",), entry_point="x.py")
    request = spec.to_request()
    assert request["ImageName"] == "my-image"
    assert request["Packages"] == ["six==1.17.0"]
    assert ImageSpec.from_request(request) == spec
    assert ImageSpec.from_request({"Name": "my-image", "Tag": "v1"}).tag == "v1"
    with pytest.raises(ValidationError, match="unknown field 'Nmae'"):
        ImageSpec.from_request({"Nmae": "typo"})


def test_name_tag_parsing() -> None:
    assert parse_name_tag("sklearn:1.2-1") == ("sklearn", "1.2-1")
    assert parse_name_tag("mine") == ("mine", "latest")
    with pytest.raises(ValidationError):
        parse_name_tag("bad name:1")
    with pytest.raises(ValidationError):
        parse_name_tag("ok:-bad")


@pytest.mark.parametrize(
    ("name", "tag"),
    [("sklearn", "1.5"), ("a-b", "c"), ("a", "b-c"), ("x" * 63, "_" + "y" * 127), ("a.b", "_1")],
)
def test_catalog_names_are_valid_and_distinct(name: str, tag: str) -> None:
    encoded = catalog_name(name, tag)
    assert IMAGE_NAME.fullmatch(encoded)
    assert len(encoded) <= 63
    assert catalog_name("a-b", "c") != catalog_name("a", "b-c")


def test_directory_digest_ignores_caches(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    before = digest_directory(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    assert digest_directory(tmp_path) == before
    (tmp_path / "train.py").write_text("print(2)\n")
    assert digest_directory(tmp_path) != before
