"""A training script's side of Pipe and FastFile, run as a real subprocess by the tests.

    python fifo_reader.py PATH_TEMPLATE --epochs N [--recordio] [--stop-after BYTES]

``PATH_TEMPLATE`` holds ``{epoch}`` (``.../train_{epoch}``) or names one file.
For each epoch it waits for the path to appear (as a script polling for the
next FIFO does), reads it to the end in 1 MiB chunks (or record by record),
and prints one JSON line: per epoch the byte count and SHA-256 (and, with
``--recordio``, each record's length and SHA-256), and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

MIB = 1024 * 1024


def wait_for(path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"{path} did not appear within {timeout_s}s")
        time.sleep(0.005)


def read_epoch(path: str, recordio: bool, stop_after: int | None) -> dict[str, object]:
    digest = hashlib.sha256()
    total = 0
    records: list[tuple[int, str]] = []
    with open(path, "rb") as stream:
        if recordio:
            from modelyard.formats.recordio import read_recordio

            for payload in read_recordio(stream):
                records.append((len(payload), hashlib.sha256(payload).hexdigest()))
                total += len(payload)
        else:
            while chunk := stream.read(MIB if stop_after is None else min(MIB, stop_after - total)):
                digest.update(chunk)
                total += len(chunk)
                if stop_after is not None and total >= stop_after:
                    break
    return {"bytes": total, "sha256": digest.hexdigest(), "records": records}


def peak_rss_bytes() -> int:
    """VmHWM: the peak RSS of this program's own memory. (``ru_maxrss`` is no use here: Linux
    carries it over ``exec`` from the parent's memory when the child is spawned with vfork.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("template")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--recordio", action="store_true")
    parser.add_argument("--stop-after", type=int)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    epochs = []
    for epoch in range(args.epochs):
        path = args.template.format(epoch=epoch)
        wait_for(path, args.timeout)
        epochs.append(read_epoch(path, args.recordio, args.stop_after))
    print(json.dumps({"epochs": epochs, "peak_rss_bytes": peak_rss_bytes()}))


if __name__ == "__main__":
    main()
