"""One worker of a replica: ``python -m modelyard.container.serving_worker FD INDEX [CLOCKS]``.

Started by the supervisor in :mod:`.serving` with the listening socket as file
descriptor ``FD`` (bound once, shared by every worker) and the busy clocks of
:mod:`.serving_watchdog` as ``CLOCKS``. The worker loads the model
*before* it accepts anything, so a connection never waits on a worker that is still
loading while a ready sibling could take it; a worker whose model failed to load
still serves, answering ``/ping`` 503 and ``/invocations`` with the ``ModelError``.
SIGTERM (or SIGINT) drains it: see :class:`~.http_server.HttpServer`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

from modelyard.container.http_server import HttpServer, ServerLimits
from modelyard.container.serving_app import InferenceApp
from modelyard.container.serving_settings import ServingSettings
from modelyard.container.serving_watchdog import BusyClocks

logger = logging.getLogger("modelyard.container.serving")

LOG_FORMAT = "%(asctime)s [worker {index} pid %(process)d] %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def run_worker(listen_fd: int, index: int, clocks_fd: int | None = None) -> int:
    settings = ServingSettings.from_environ()
    configure_logging(settings.log_level, LOG_FORMAT.format(index=index))
    stopping = False

    def early_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, early_stop)  # while loading: stop once loaded
    app = InferenceApp.load(settings)
    listener = socket.socket(fileno=listen_fd)
    if stopping:
        listener.detach()
        return 0
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = HttpServer(
        app,
        ServerLimits(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            keepalive_timeout_s=settings.keepalive_timeout_s,
            drain_timeout_s=settings.drain_timeout_s,
            share_accepts=settings.workers > 1,
        ),
        loop,
    )

    def stop(signum: int, frame: object) -> None:
        server.request_drain()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    app.timer.install()
    if clocks_fd is not None:
        clocks = BusyClocks(clocks_fd, index)
        app.timer.busy = clocks.slot(index)
    server.start(listener)
    logger.info(
        "ready: serving on %s (model %s)",
        "{}:{}".format(*listener.getsockname()[:2]),
        "loaded" if app.ready else "FAILED to load",
    )
    try:
        loop.run_until_complete(server.wait_closed())
    finally:
        loop.close()
    logger.info("drained, exiting")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print(
            "usage: python -m modelyard.container.serving_worker FD INDEX [CLOCKS_FD]",
            file=sys.stderr,
        )
        return 2
    return run_worker(int(args[0]), int(args[1]), int(args[2]) if len(args) == 3 else None)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown of framework threads (torch, OpenMP)
