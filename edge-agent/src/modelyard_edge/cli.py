"""``modelyard-edge``: run the agent, verify a package, predict once."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

import numpy as np

from modelyard_edge.agent import AgentConfig, EdgeAgent, UpdateRejectedError
from modelyard_edge.package import PackageError, open_package


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelyard-edge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve a package and sync with the control plane")
    run.add_argument("--root", type=Path, required=True, help="the agent's state directory")
    run.add_argument("--package", type=Path, help="a package to install first")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--device", help="device name (default: the host name)")
    run.add_argument("--fleet", help="the device fleet it belongs to")
    run.add_argument("--control-plane", help="URL of the modelyard server")
    run.add_argument("--token", help="API token of the control plane")
    run.add_argument("--trusted-key", action="append", default=[], help="trusted public key (hex)")
    run.add_argument("--require-signature", action="store_true")
    run.add_argument("--heartbeat-interval", type=float, default=30.0)
    run.add_argument("--capture-percentage", type=float, default=100.0)
    run.add_argument("--buffer-mb", type=float, default=16.0)
    verify = commands.add_parser("verify", help="check a package's hashes, signature and self-test")
    verify.add_argument("package", type=Path)
    verify.add_argument("--trusted-key", action="append", default=[])
    predict = commands.add_parser("predict", help="predict with a package on a JSON list of rows")
    predict.add_argument("package", type=Path)
    predict.add_argument("rows", help='JSON, e.g. "[[5.1, 3.5, 1.4, 0.2]]"')
    return parser


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "verify":
        import tempfile

        from modelyard_edge.model import LoadedModel

        with tempfile.TemporaryDirectory() as scratch:
            try:
                package = open_package(args.package, Path(scratch) / "p", args.trusted_key)
                report = LoadedModel(package).self_test()
            except PackageError as exc:
                print(f"refused: {exc}", file=sys.stderr)
                return 1
            print(
                json.dumps(
                    {
                        "Name": package.name,
                        "Version": package.version,
                        "SignedBy": package.signed_by,
                        "SelfTest": report,
                    }
                )
            )
        return 0
    if args.command == "predict":
        import tempfile

        from modelyard_edge.model import LoadedModel

        with tempfile.TemporaryDirectory() as scratch:
            package = open_package(args.package, Path(scratch) / "p")
            outputs = LoadedModel(package).predict(np.asarray(json.loads(args.rows)))
            print(json.dumps({k: np.asarray(v).tolist() for k, v in outputs.items()}))
        return 0
    from modelyard_edge.server import EdgeServer

    config = AgentConfig(
        root=args.root,
        fleet=args.fleet,
        control_plane=args.control_plane,
        token=args.token,
        trusted_keys=args.trusted_key,
        require_signature=args.require_signature,
        heartbeat_interval_s=args.heartbeat_interval,
        capture_percentage=args.capture_percentage,
        buffer_max_bytes=int(args.buffer_mb * (1 << 20)),
    )
    if args.device:
        config.device = args.device
    agent = EdgeAgent(config)
    if args.package:
        try:
            agent.install(args.package)
        except UpdateRejectedError as exc:
            print(f"package refused: {exc}", file=sys.stderr)
    if agent.version is None:
        agent.load_current()
    server = EdgeServer(agent, args.host, args.port)
    agent.start_sync()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    print(
        f"modelyard-edge serving {agent.version or 'nothing yet'} on "
        f"http://{args.host}:{server.port}",
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
