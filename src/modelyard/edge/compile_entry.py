"""``python -m modelyard.edge.compile_entry <job.json>``: one compilation, inside an image.

The compilation controller writes ``job.json`` (``ModelDir``, ``OutputDir``,
``Framework``, ``DataInputConfig``, ``Target``, ``Quantization``, ``Tolerance``,
``SamplePath``) and launches this in the framework's compile image. It writes
``<OutputDir>/compilation-report.json`` and, when it fails, ``<OutputDir>/failure``
with a reason led by ``ClientError:`` (the request's or the model's fault: exit 1)
or ``PlatformError:`` (ours: exit 2), as the training toolkit does.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

FAILURE_FILE = "failure"
EXIT_CLIENT_ERROR = 1
EXIT_PLATFORM_ERROR = 2


def run(config: dict[str, Any]) -> int:
    from modelyard.edge.adapters import ArtifactError
    from modelyard.edge.compile import (
        CompileRequest,
        VerificationError,
        compile_model,
        load_sample,
    )
    from modelyard.edge.signature import SignatureError, parse_data_input_config
    from modelyard.edge.targets import UnknownTargetError, get_target
    from modelyard.edge.verify import FP32_TOLERANCE, INT8_TOLERANCE, Tolerance

    out_dir = Path(config["OutputDir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        quantization = str(config.get("Quantization") or "none")
        default = FP32_TOLERANCE if quantization == "none" else INT8_TOLERANCE
        signature = parse_data_input_config(config.get("DataInputConfig"))
        sample_path = config.get("SamplePath")
        request = CompileRequest(
            framework=str(config["Framework"]),
            model_dir=Path(config["ModelDir"]),
            target=get_target(str(config["Target"])),
            signature=signature,
            quantization=quantization,
            sample=load_sample(Path(sample_path), signature) if sample_path else None,
            tolerance=Tolerance.from_dict(config.get("Tolerance") or {}, default),
        )
        report = compile_model(request, out_dir)
    except (ArtifactError, SignatureError, UnknownTargetError, VerificationError) as exc:
        _fail(out_dir, f"ClientError: {exc}")
        return EXIT_CLIENT_ERROR
    except Exception as exc:
        traceback.print_exc()
        _fail(out_dir, f"PlatformError: {type(exc).__name__}: {exc}")
        return EXIT_PLATFORM_ERROR
    verification = report["Verification"]
    print(
        f"compiled {report['Framework']} for {report['Target']} ({report['Quantization']}): "
        f"max abs error {verification['MaxAbsoluteError']:.3g}, "
        f"label agreement {verification['LabelAgreement']}, "
        f"{report['CompiledModelSizeBytes']} bytes",
        flush=True,
    )
    return 0


def _fail(out_dir: Path, reason: str) -> None:
    print(reason, file=sys.stderr, flush=True)
    (out_dir / FAILURE_FILE).write_text(reason[:4096], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m modelyard.edge.compile_entry <job.json>", file=sys.stderr)
        return EXIT_PLATFORM_ERROR
    config = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
