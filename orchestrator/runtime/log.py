"""Structured logs with a fixed vocabulary (MetalLB's key/value style), one line per event.

    ts=2026-11-22T02:40:01.123Z level=info component=controller event=IPAllocated
    service=demo/web ip=192.0.2.1 msg="..."

Keys in use: event, service, pool, ip, node, iface, peer, backend, reason, msg. Values with
spaces or quotes are quoted. Never pass a secret here: model ``Secret`` values print as
``Secret(<redacted>)`` anyway.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_lock = threading.Lock()


def _fmt(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class Logger:
    def __init__(self, component: str, *, stream: TextIO | None = None) -> None:
        self.component = component
        self.stream = stream

    def __call__(self, event: str, *, level: str = "info", **fields: object) -> None:
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        parts = [f"ts={ts}", f"level={level}", f"component={self.component}", f"event={event}"]
        parts += [f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None]
        with _lock:
            stream = self.stream or sys.stderr
            print(" ".join(parts), file=stream, flush=True)
