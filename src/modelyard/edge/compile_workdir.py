"""The working directory of one compilation: the artifact, the sample and ``job.json``.

``<home>/jobs/compilation/<job>/``: ``model/`` (a ``model.tar.gz`` extracted; any
other object copied as it is), ``sample-<name>`` (the CompilerOptions sample, if
any), ``job.json`` (what :mod:`modelyard.edge.compile_entry` reads) and ``output/``
(what it writes).
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

from modelyard.container.files import extract_tarball
from modelyard.edge.compile_spec import compiler_options, resolve_target
from modelyard.store.base import Store
from modelyard.store.transfer import download_file
from modelyard.store.uri import parse_s3_uri


def prepare_job_dir(store: Store, spec: dict[str, Any], framework: str, job_dir: Path) -> Path:
    """Lay out ``job_dir`` for the request ``spec`` (see the module doc); the job.json path."""
    if job_dir.exists():
        shutil.rmtree(job_dir)  # left by an earlier job of the same name
    model_dir, out_dir = job_dir / "model", job_dir / "output"
    model_dir.mkdir(parents=True)
    fetch_model(store, spec["InputConfig"]["S3Uri"], job_dir, model_dir)
    options = compiler_options(spec["OutputConfig"].get("CompilerOptions"))
    target = resolve_target(spec["OutputConfig"], options)
    sample_path = None
    if options.get("Sample"):
        sample_uri = parse_s3_uri(str(options["Sample"]))
        sample_path = job_dir / f"sample-{Path(sample_uri.key).name}"
        download_file(store, sample_uri, sample_path)
    config = {
        "ModelDir": str(model_dir),
        "OutputDir": str(out_dir),
        "Framework": framework,
        "DataInputConfig": spec["InputConfig"].get("DataInputConfig"),
        "Target": target.name,
        "Quantization": options.get("Quantization", "none"),
        "Tolerance": options.get("Tolerance") or {},
        "SamplePath": str(sample_path) if sample_path else None,
    }
    config_path = job_dir / "job.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return config_path


def fetch_model(store: Store, uri: str, job_dir: Path, model_dir: Path) -> None:
    parsed = parse_s3_uri(uri)
    artifact = download_file(store, parsed, job_dir / Path(parsed.key).name)
    if artifact.name.endswith((".tar.gz", ".tgz", ".tar")) and tarfile.is_tarfile(artifact):
        extract_tarball(artifact, model_dir)
    else:
        shutil.copy2(artifact, model_dir / artifact.name)
