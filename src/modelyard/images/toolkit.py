"""The in-image toolkit as a layer of its own.

An image runs modelyard's ``container`` and ``formats`` packages (they import
nothing else of modelyard). Rather than installing them into every environment,
which would tie each build to the toolkit's source, they are copied once per
version of their sources to ``<images_dir>/toolkit/<toolkit hash>/modelyard/``
(with a minimal ``modelyard/__init__.py``), and each environment gets a ``.pth``
file pointing there. Editing the toolkit therefore never rebuilds a framework
environment: the next :meth:`VenvBuilder.ensure_built` only rewrites the ``.pth``.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import modelyard
from modelyard.images.spec import IGNORED_NAMES, digest_directory
from modelyard.runtime.supervisor import write_atomic

#: The packages of modelyard an image gets, beside a minimal ``modelyard/__init__.py``.
TOOLKIT_PACKAGES = ("container", "formats")
PTH_NAME = "modelyard-toolkit.pth"
_READY = ".complete"

_INIT_STUB = f'''"""modelyard's in-image toolkit: ``modelyard.container`` and ``.formats`` only.

Installed into images by modelyard's image builder; the rest of modelyard (the
control plane, the SDK) is deliberately absent here.
"""

__version__ = "{modelyard.__version__}"
'''


def _package_root() -> Path:
    """The directory of the ``modelyard`` package this server runs."""
    return Path(__file__).resolve().parent.parent


def toolkit_hash() -> str:
    """A digest of the toolkit's sources; cheap enough to compute on every build check."""
    digest = hashlib.sha256(_INIT_STUB.encode())
    root = _package_root()
    for package in TOOLKIT_PACKAGES:
        digest.update(f"\0{package}\0{digest_directory(root / package)}".encode())
    return digest.hexdigest()


def ensure_toolkit(images_dir: Path) -> Path:
    """The toolkit directory for the current sources (``<dir>/modelyard/...``), made once."""
    target = images_dir / "toolkit" / toolkit_hash()[:24]
    if (target / _READY).exists():
        return target
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    package = staging / "modelyard"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_INIT_STUB, encoding="utf-8")
    for name in TOOLKIT_PACKAGES:
        shutil.copytree(
            _package_root() / name,
            package / name,
            ignore=shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc"),
        )
    (staging / _READY).touch()
    try:
        staging.rename(target)
    except OSError:
        # Another process renamed its complete copy into place first.
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / _READY).exists():
            raise
    return target


def site_packages(env_dir: Path, python_version: str) -> Path:
    return env_dir / "lib" / f"python{python_version}" / "site-packages"


def link_toolkit(env_dir: Path, python_version: str, toolkit_dir: Path) -> bool:
    """Point the environment's ``.pth`` at ``toolkit_dir``; True if it changed."""
    pth = site_packages(env_dir, python_version) / PTH_NAME
    content = f"{toolkit_dir}\n"
    try:
        if pth.read_text(encoding="utf-8") == content:
            return False
    except FileNotFoundError:
        pass
    write_atomic(pth, content)
    return True


def unlink_toolkit(env_dir: Path, python_version: str) -> None:
    (site_packages(env_dir, python_version) / PTH_NAME).unlink(missing_ok=True)
