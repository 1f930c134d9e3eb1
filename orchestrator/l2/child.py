"""The announcer child's side of ``AnnouncerProcess`` (``python -m orchestrator.l2.child``).

One ``Announcer``, driven by what comes down one end of a socket pair (``FD``): a fresh
interpreter holding none of the speaker's objects, started in the network namespace of the
thread that spawned it. It ignores SIGINT and SIGTERM (the parent decides when it ends) and
ends when the socket closes, so it never outlives the speaker.

Messages from the parent: ``("announce", table, generation)``, ``("reannounce", ips or
None)``, ``("alive",)``, ``("stop",)``. To the parent: ``("state", links, counters,
generation)`` at start, after every message and every second: ``generation`` is the last
table it applied, which is how the parent knows the child *holds the current table* (the
speaker renews its lease only then, docs/design.md §15); ``counters`` is None except every
``counters_every`` seconds (pickling 10,000 IPs' counters holds the child's GIL ~3 ms).
``("failed", text)`` if its announcer died.

With ``quiet_after``, it withdraws everything when the parent has been silent that long (a
frozen speaker, whose lease the others then see expire) and announces its table again at
the next message.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from orchestrator import log as log_channel
from orchestrator.core.model.cluster import IPAddress
from orchestrator.l2.announcer import Announcer
from orchestrator.l2.garp import GarpTiming
from orchestrator.l2.priority import Priority, raise_priority
from orchestrator.l2.stats import L2Stats

log = logging.getLogger(__name__)

Table = dict[IPAddress, tuple[str, ...] | None]
COUNTERS = ("requests_received", "responses_sent", "gratuitous_sent", "dropped", "send_errors")
#: How often the child reports its links while nothing else happens.
REPORT_EVERY = 1.0
#: How often it adds its counters (see the module docstring).
COUNTERS_EVERY = 10.0


def _counters(stats: L2Stats) -> dict[str, dict[Any, int]]:
    return {name: dict(getattr(stats, name).copy()) for name in COUNTERS}


def serve(
    conn: Connection,
    interfaces: list[str] | None,
    refresh: float | None,
    quiet_after: float | None = None,
    counters_every: float = COUNTERS_EVERY,
    priority: Priority = Priority.NONE,
) -> None:
    """The child's loop: one ``Announcer``, driven by what comes down ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise_priority(priority)  # before the announcer's thread starts, so it inherits it
    announcer = Announcer(interfaces=interfaces, timing=GarpTiming(refresh=refresh))
    announcer.start()
    table: Table = {}
    generation: int | None = None
    heard = time.monotonic()
    quiet = False
    counted = float("-inf")
    try:
        while True:
            counters = None
            if time.monotonic() - counted >= counters_every:
                counters, counted = _counters(announcer.stats), time.monotonic()
            conn.send(("state", announcer.links, counters, generation))
            if announcer.error is not None:
                conn.send(("failed", f"{type(announcer.error).__name__}: {announcer.error}"))
                return
            wait = REPORT_EVERY
            if quiet_after is not None and not quiet:
                left = heard + quiet_after - time.monotonic()
                if left <= 0:
                    if table:  # a warm standby holds nothing: nothing to say
                        log.error("event=announcerWithdrawn reason=speakerSilent")
                        announcer.set_announced({})
                    quiet = True
                else:
                    wait = min(wait, left)
            if not conn.poll(wait):
                continue
            try:
                message = conn.recv()
            except EOFError:  # the parent is gone
                return
            heard = time.monotonic()
            if message[0] == "announce":
                table, generation = message[1], message[2]
                announcer.set_announced(table)
            elif quiet and message[0] != "stop" and table:
                announcer.set_announced(table)
            if message[0] == "reannounce":
                announcer.reannounce(message[1])
            elif message[0] == "stop":
                return
            quiet = False
    except (BrokenPipeError, EOFError, OSError):
        return  # the parent is gone
    finally:
        announcer.stop()


def main(argv: list[str]) -> int:
    """The child's entry point: ``FD CONFIG`` (see the module docstring)."""
    log_channel.configure()  # the parent's level, from MLB_LOG_LEVEL
    config = json.loads(argv[1])
    serve(
        Connection(int(argv[0])),
        config["interfaces"],
        config["refresh"],
        config["quiet_after"],
        config["counters_every"],
        Priority(config.get("priority", Priority.NONE.value)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
