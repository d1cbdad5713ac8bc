"""A build process: ``python -m modelyard.images.build <spec.json> <images_dir>``.

:meth:`ImageRegistry.build` launches this through the Runtime, so a build is a
container like any other: it survives a server restart and is re-adopted. Exit
code 0 = the environment is ready; 1 = the build failed (the build log says why).
"""

from __future__ import annotations

import sys
from pathlib import Path

from modelyard.errors import ModelyardError
from modelyard.images.builder import VenvBuilder
from modelyard.images.spec import ImageSpec


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python -m modelyard.images.build <spec.json> <images_dir>\n")
        return 2
    spec = ImageSpec.model_validate_json(Path(argv[1]).read_text(encoding="utf-8"))
    builder = VenvBuilder(Path(argv[2]))
    try:
        env = builder.ensure_built(spec, out=sys.stdout)
    except ModelyardError as exc:
        sys.stdout.write(f"build of {spec.name_tag} failed: {exc}\n")
        return 1
    sys.stdout.write(f"ready: {env}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
