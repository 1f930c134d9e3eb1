"""The lab's stand-in for a pod: ``python -m orchestrator.lab.pod NODE`` answers every GET
on port 80 with ``200`` and the node's name, so a client sees which node served it.

Run inside a node's namespace, it listens on 0.0.0.0: the node's local routes for the pools
deliver every VIP to it, as kube-proxy would deliver them to a pod. Threaded, so one client
that connects and never sends cannot stall the others; request logging is off (the client
polls many times a second during a failover). Only the standard library is imported: the
lab starts one per node and it should cost nothing.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


def handler_for(node: str) -> type[BaseHTTPRequestHandler]:
    body = f"{node}\n".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "mlb-lab-pod"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.lab.pod")
    parser.add_argument("node")
    parser.add_argument("--port", type=int, default=80)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("0.0.0.0", args.port), handler_for(args.node))
    server.daemon_threads = True

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    print(f"pod {args.node}: listening on :{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
