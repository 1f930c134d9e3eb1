"""``ArpWatch``: continuous ARP/NDP probes from the client, recording every MAC that answers.

A thread sends one request for ``ip`` every ``every`` seconds from the client's raw socket
(``Prober``) and collects, until the next request, every answer addressed to it: one
sample is (send time, the MACs that answered). ``gaps`` are the stretches with no answer
(from the last answered request to the next answered one), ``doubles`` those answered by
more than one MAC. Bounded: it stops after ``limit`` seconds whatever happens.
"""

from __future__ import annotations

import threading
import time
from ipaddress import ip_address

from orchestrator.l2.probe import Prober


class ArpWatch:
    def __init__(self, prober: Prober, ip: str, *, every: float = 0.01, limit: float = 60.0):
        self.prober, self.ip, self.every, self.limit = prober, ip_address(ip), every, limit
        self.samples: list[tuple[float, frozenset[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="arpwatch", daemon=True)

    def __enter__(self) -> ArpWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.limit + 5)

    def _run(self) -> None:
        frame = self.prober.request(self.ip)
        end = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < end:
            sent = time.monotonic()
            self.prober.send(frame)
            macs: set[str] = set()
            while (left := sent + self.every - time.monotonic()) > 0:
                reply = self.prober.receive(left)
                if reply is not None and reply.ip == self.ip.packed:
                    macs.add(reply.mac.hex(":"))
            self.samples.append((sent, frozenset(macs)))

    def answered_by(self, since: float = 0.0) -> set[str]:
        return {m for t, macs in self.samples if t >= since for m in macs}

    def gaps(self) -> list[float]:
        """Seconds from each last answered request to the next answered one, where at
        least one request in between went unanswered."""
        out, last, missed = [], None, False
        for t, macs in self.samples:
            if not macs:
                missed = True
                continue
            if last is not None and missed:
                out.append(t - last)
            last, missed = t, False
        return out

    def doubles(self) -> list[float]:
        """Lengths (first to last request) of the stretches answered by two MACs or more."""
        out, start, end = [], None, 0.0
        for t, macs in self.samples:
            if len(macs) > 1:
                start = t if start is None else start
                end = t
            elif start is not None:
                out.append(end - start)
                start = None
        if start is not None:
            out.append(end - start)
        return out
