"""One logging channel: key=value lines with a fixed vocabulary, for every module and command.

    ts=2026-11-22T02:40:01.123Z level=info component=controller event=IPAllocated
    service=demo/web ip=192.0.2.1 msg="..."

Every line starts with ``ts``, ``level`` (debug, info, warning, error), ``component`` and
``event``; then the fields of the fixed vocabulary (MetalLB's key/value style): service,
pool, ip, node, iface, peer, backend, reason, msg, and a few counters. Values with spaces,
quotes, ``=`` or control characters are quoted, control characters escaped
(``core.model.errors.printable``), so no value can break or forge a line. Never pass a
secret here: model ``Secret`` values print as ``Secret(<redacted>)`` anyway, and the
backends redact what their daemons echo.

How it is wired:

- our own code logs through ``Logger(component)``: ``log("bgpRepaired", level="warning",
  backend="frr", reason=...)``;
- modules and libraries that use the standard ``logging`` package (the L2 wire, gRPC, the
  Kubernetes client) reach the same stream in the same format: ``configure`` installs one
  handler on the root logger that writes each record as a line of ours (``component`` is
  the logger's name without the ``orchestrator.`` prefix; a message that already reads
  ``event=... key=value`` is kept as it is, anything else becomes ``event=log msg=...``);
- every ``mlb`` command calls ``configure`` before it does anything else (``mlb
  --log-level``), so the threshold is the same for both kinds of line. The default, info,
  shows what a user must see: repairs, session changes and apply failures (warning, error)
  and what the loops decide (info); debug adds per-pass detail.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import TextIO

from orchestrator.core.model.errors import printable

LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "info"
ENV = "MLB_LOG_LEVEL"
_RANK = {name: i for i, name in enumerate(LEVELS)}
_STDLIB = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

_lock = threading.Lock()
_threshold = _RANK[DEFAULT_LEVEL]
_stream: TextIO | None = None  # None: sys.stderr at the time of writing


def _fmt(value: object) -> str:
    text = str(value)
    escaped = printable(text)
    if text == "" or escaped is not text or any(c in text for c in ' "='):
        # a control character (a newline in an object name) is escaped: one line stays one
        return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
    return text


def _timestamp(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _write(stream: TextIO | None, level: str, component: str, tail: str) -> None:
    line = f"ts={_timestamp(time.time())} level={level} component={_fmt(component)} {tail}"
    with _lock:
        print(line, file=stream or _stream or sys.stderr, flush=True)


def enabled(level: str) -> bool:
    return _RANK.get(level, _RANK["error"]) >= _threshold


class Logger:
    """``log(event, level=..., **fields)``: one line, fields in the order given; ``None``
    values are left out. ``stream`` pins the output (tests, benchmarks)."""

    def __init__(self, component: str, *, stream: TextIO | None = None) -> None:
        self.component = component
        self.stream = stream

    def __call__(self, event: str, *, level: str = "info", **fields: object) -> None:
        if not enabled(level):
            return
        parts = [f"event={_fmt(event)}"]
        parts += [f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None]
        _write(self.stream, level, self.component, " ".join(parts))


class _Records(logging.Handler):
    """Standard ``logging`` records as lines of ours."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.levelno >= logging.ERROR:
                level = "error"
            elif record.levelno >= logging.WARNING:
                level = "warning"
            elif record.levelno >= logging.INFO:
                level = "info"
            else:
                level = "debug"
            text = record.getMessage()
            tail = text if text.startswith("event=") else f"event=log msg={_fmt(text)}"
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                tail += f" reason={type(error).__name__} error={_fmt(error)}"
            component = record.name.removeprefix("orchestrator.")
            _write(None, level, component, tail)
        except Exception:  # a log line must never take the process down
            self.handleError(record)


_handler = _Records()


def configure(level: str | None = None, *, stream: TextIO | None = None) -> None:
    """Set the threshold for every line and route standard ``logging`` into this channel.

    ``level`` None: ``$MLB_LOG_LEVEL``, else info. The level chosen is exported in
    ``MLB_LOG_LEVEL``, so the processes a command starts (the announcer's child, the lab's
    daemons and speakers) log at the same level. Idempotent; ``stream`` (default: stderr)
    receives both kinds of line."""
    global _threshold, _stream
    level = level or os.environ.get(ENV) or DEFAULT_LEVEL
    if level not in _RANK:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    os.environ[ENV] = level
    _threshold = _RANK[level]
    _stream = stream
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(_STDLIB[level])
