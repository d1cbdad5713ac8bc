"""The public names of ``modelyard.formats`` and the import-weight rule for framework images."""

from __future__ import annotations

import subprocess
import sys

import modelyard.deserializers
import modelyard.formats
import modelyard.serializers


def test_all_names_exist() -> None:
    for module in (modelyard.formats, modelyard.serializers, modelyard.deserializers):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_formats_imports_only_numpy_and_itself() -> None:
    """Inside a framework image only the standard library and NumPy may be needed."""
    code = (
        "import sys, modelyard.formats, modelyard.formats.serializers, "
        "modelyard.formats.deserializers\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('scipy', 'pandas', 'pyarrow', 'pydantic', 'google', 'sagemaker'))\n"
        "other = sorted(m for m in sys.modules if m.startswith('modelyard.') "
        "and not m.startswith('modelyard.formats'))\n"
        "print(heavy, other)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[] []"
