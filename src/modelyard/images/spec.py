"""What an image is: ``name:tag`` -> the environment it stands for.

An :class:`ImageSpec` names Python packages (pip requirement strings, pinned for
framework images), optionally the content of a requirements file and a user's
code directory, whether the in-image toolkit is installed, and an optional entry
point. :attr:`ImageSpec.spec_hash` keys the built environment: two images with the
same environment (say ``sklearn:1.5`` and ``my-sklearn:prod``) share one build.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.errors import ValidationError
from modelyard.ids import IMAGE_NAME, IMAGE_TAG

#: Bumped when the layout of built environments changes, so old builds are not reused.
BUILD_FORMAT = 1

IGNORED_NAMES = frozenset({"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".DS_Store"})


def server_python_version() -> str:
    """``major.minor`` of the interpreter this server runs (the only one it builds for)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def parse_name_tag(name_tag: str) -> tuple[str, str]:
    """``name:tag`` -> ``(name, tag)``; a missing tag is ``latest``, as with containers."""
    name, sep, tag = name_tag.partition(":")
    if not sep:
        tag = "latest"
    if not IMAGE_NAME.fullmatch(name) or len(name) > 63:
        raise ValidationError(
            f"{name_tag!r} is not a valid image: the name must be 1-63 letters, digits, "
            "'-' or '.', starting and ending with a letter or digit",
            field="ImageName",
        )
    if not IMAGE_TAG.fullmatch(tag):
        raise ValidationError(
            f"{name_tag!r} is not a valid image: the tag must be 1-128 letters, digits, "
            "'_', '.' or '-', not starting with '.' or '-'",
            field="ImageTag",
        )
    return name, tag


def digest_directory(path: Path) -> str:
    """sha256 over the relative paths and contents of every file below ``path``.

    Caches and VCS directories (``__pycache__``, ``.git``...) and ``*.pyc`` are left out.
    """
    digest = hashlib.sha256()
    root = Path(path)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for filename in sorted(filenames):
            if filename in IGNORED_NAMES or filename.endswith(".pyc"):
                continue
            file_path = Path(dirpath) / filename
            relative = file_path.relative_to(root).as_posix()
            digest.update(relative.encode() + b"\0")
            digest.update(hashlib.sha256(file_path.read_bytes()).digest())
    return digest.hexdigest()


def _requirement_lines(text: str | None) -> list[str]:
    """The meaningful lines of a requirements file: comments and blank lines dropped."""
    lines = []
    for raw in (text or "").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


class ImageSpec(BaseModel):
    """A named, versioned runnable environment.

    ``packages`` are pip requirement strings (``scikit-learn==1.5.2``); options are not
    allowed there (``requirements`` may hold them, as a requirements file does).
    ``code_dir`` is a snapshot of the user's code directory, copied into the image
    (``<env>/code``); ``code_digest`` is its :func:`digest_directory`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    tag: str = "latest"
    packages: tuple[str, ...] = ()
    requirements: str | None = None
    python_version: str = Field(default_factory=server_python_version)
    include_toolkit: bool = True
    entry_point: str | None = None
    code_dir: Path | None = None
    code_digest: str | None = None
    framework: str | None = None
    framework_version: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not IMAGE_NAME.fullmatch(value) or len(value) > 63:
            raise ValueError(
                "use 1-63 letters, digits, '-' or '.', starting and ending with a letter or digit"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _check_tag(cls, value: str) -> str:
        if not IMAGE_TAG.fullmatch(value):
            raise ValueError("use 1-128 letters, digits, '_', '.' or '-', not starting with . or -")
        return value

    @field_validator("packages")
    @classmethod
    def _check_packages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for package in value:
            package = package.strip()
            if not package or package.startswith("-") or "\n" in package:
                raise ValueError(
                    f"{package!r} is not a requirement: give 'name==version' strings; pip "
                    "options belong in Requirements"
                )
            cleaned.append(package)
        return tuple(cleaned)

    @field_validator("python_version")
    @classmethod
    def _check_python(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("give major.minor, e.g. '3.11'")
        return value

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ImageSpec:
        """Validate ``data``; errors become :class:`~modelyard.errors.ValidationError` (400)."""
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise ValidationError(
                f"invalid image spec: {field}: {first['msg']}", field=field
            ) from exc

    @property
    def name_tag(self) -> str:
        return f"{self.name}:{self.tag}"

    def environment(self) -> dict[str, Any]:
        """Everything that determines the built environment, and nothing else.

        Name, tag, entry point and framework labels are left out (they do not change
        the environment), and so is the toolkit's source: it is a separate layer
        (see :mod:`modelyard.images.toolkit`), so editing it never rebuilds an image.
        """
        return {
            "build_format": BUILD_FORMAT,
            "python": self.python_version,
            "packages": sorted(set(self.packages)),
            "requirements": _requirement_lines(self.requirements),
            "code_digest": self.code_digest,
            "toolkit": self.include_toolkit,
        }

    @property
    def spec_hash(self) -> str:
        canonical = json.dumps(self.environment(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def requirement_lines(self) -> list[str]:
        """What pip installs: the packages, then the requirements file's lines."""
        return [*self.packages, *_requirement_lines(self.requirements)]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_request(self) -> dict[str, Any]:
        """The spec in the API's shape (PascalCase), as the catalog stores it."""
        return {
            _REQUEST_FIELDS_OUT[field]: _jsonable(getattr(self, field))
            for field in type(self).model_fields
        }

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> ImageSpec:
        """Parse a register request (``Name``/``ImageName``, ``Tag``, ``Packages``...)."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        data: dict[str, Any] = {}
        for key, value in body.items():
            field = _REQUEST_FIELDS_IN.get(key)
            if field is None:
                known = ", ".join(sorted(_REQUEST_FIELDS_IN))
                raise ValidationError(f"unknown field {key!r}; use {known}", field=key)
            if value is not None:
                data[field] = value
        return cls.parse(data)


_REQUEST_FIELDS_OUT = {
    "name": "ImageName",
    "tag": "ImageTag",
    "packages": "Packages",
    "requirements": "Requirements",
    "python_version": "PythonVersion",
    "include_toolkit": "IncludeToolkit",
    "entry_point": "EntryPoint",
    "code_dir": "CodeDir",
    "code_digest": "CodeDigest",
    "framework": "Framework",
    "framework_version": "FrameworkVersion",
}
_REQUEST_FIELDS_IN = {
    **{pascal: field for field, pascal in _REQUEST_FIELDS_OUT.items()},
    "Name": "name",
    "Tag": "tag",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
