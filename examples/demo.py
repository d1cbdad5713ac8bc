"""The end-to-end walk through modelyard on embedded defaults (``make demo``).

What exists so far: the control plane starts by itself, a dataset goes into the
object store and comes back byte for byte, and an image (a runnable
environment) is built once and reused. Later stages (training, deployment,
monitoring) join this walk as they land.
"""

from __future__ import annotations

import csv
import hashlib
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console

import modelyard
from modelyard.sdk import images, objects

console = Console()


def make_dataset(directory: Path, rows: int = 2000) -> Path:
    """A small regression dataset: target first, as SageMaker's built-in algorithms expect."""
    rng = random.Random(7)
    directory.mkdir(parents=True, exist_ok=True)
    for part in range(4):
        with open(directory / f"part-{part}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            for _ in range(rows // 4):
                x = [rng.uniform(-1, 1) for _ in range(5)]
                y = 3 * x[0] - 2 * x[1] + 0.5 * x[2] + rng.gauss(0, 0.1)
                writer.writerow([round(y, 6), *(round(v, 6) for v in x)])
    return directory


def digest(directory: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            sha.update(path.relative_to(directory).as_posix().encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def main() -> None:
    console.rule("[bold]modelyard demo")
    started = time.monotonic()
    session = modelyard.Session()
    console.print(f"control plane: {session.url} (home {session.settings.home})")

    with tempfile.TemporaryDirectory() as scratch:
        dataset = make_dataset(Path(scratch) / "dataset")
        console.rule("data source: the object store")
        uri = session.upload_data(dataset, key_prefix="demo/train", progress=True)
        console.print(f"uploaded to {uri}")
        listing = objects.list_objects(session.client, session.default_bucket(), "demo/train/")
        for info in listing:
            console.print(f"  {info['Key']}  {info['Size']} bytes  ETag={info['ETag']}")
        copy = Path(scratch) / "copy"
        session.download_data(copy, session.default_bucket(), "demo/train", progress=True)
        same = digest(copy) == digest(dataset)
        console.print(f"downloaded again, identical: [bold]{same}[/]")
        if not same:
            raise SystemExit("the round trip through the store changed the data")

    console.rule("images: runnable environments")
    images.register_image(session.client, "demo-toolkit:1.0", exist_ok=True)
    built = images.build(session.client, "demo-toolkit:1.0", wait=True)
    console.print(f"image {built['ImageName']}:{built['ImageTag']} is {built['ImageStatus']}")
    console.print(f"  environment: {built['EnvironmentPath']}")
    for row in images.list_images(session.client):
        console.print(f"  {row['ImageName']}:{row['ImageTag']}  {row['ImageStatus']}")

    console.rule(f"[bold green]done in {time.monotonic() - started:.1f} s")
    session.close()


if __name__ == "__main__":
    main()
