"""The links the announcer answers on: one filtered packet socket per allowed link.

``Ports.rescan`` dumps the links, applies the pure rules (``core.l2.wire.links``), opens a
socket (``bpf``) with its solicited-node memberships (``mcast``) on each link that became
allowed, registers it with the announcer's epoll, and closes the sockets of links that went
away, went down, got enslaved or changed MAC (a new MAC needs a new ``Link`` template). It
is used from the announcer's loop thread only; ``names`` and ``status`` are replaced, never
mutated, so other threads may read them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.core.l2.wire import Link, LinkInfo, LinkReason, link_verdict
from orchestrator.core.l2.wire.links import compile_exclude
from orchestrator.l2.bpf import open_packet_socket
from orchestrator.l2.interfaces import scan_links
from orchestrator.l2.mcast import SolicitedGroups

log = logging.getLogger(__name__)


@dataclass
class Port:
    info: LinkInfo
    link: Link
    sock: socket.socket
    groups: SolicitedGroups

    def close(self) -> None:
        self.groups.close()
        self.sock.close()


class Ports:
    def __init__(
        self,
        epoll: select.epoll,
        *,
        selected: frozenset[str] | None,
        exclude: Sequence[str],
        group_limit: int,
    ) -> None:
        self._epoll = epoll
        self._selected = selected
        self._exclude: tuple[re.Pattern[str], ...] = compile_exclude(exclude)
        self._group_limit = group_limit
        self.by_name: dict[str, Port] = {}
        self.by_fd: dict[int, Port] = {}
        self.names: tuple[str, ...] = ()  # links answering now
        self.status: dict[str, LinkReason | None] = {}  # every link seen, and why not used

    def rescan(self) -> list[str]:
        """Open and close sockets to match the links now; returns the names closed."""
        status: dict[str, LinkReason | None] = {}
        eligible: dict[str, LinkInfo] = {}
        for info in scan_links():
            reason = link_verdict(info, selected=self._selected, exclude=self._exclude)
            status[info.name] = reason
            if reason is None:
                eligible[info.name] = info
        closed = []
        for name, port in list(self.by_name.items()):
            now = eligible.get(name)
            if now is None or (now.index, now.mac) != (port.info.index, port.info.mac):
                self._close(name, status.get(name))
                closed.append(name)
        for name, info in eligible.items():
            if name not in self.by_name:
                self._open(info)
        self.status = status
        self.names = tuple(sorted(self.by_name))
        return closed

    def close_all(self) -> None:
        for port in self.by_name.values():
            port.close()
        self.by_name.clear()
        self.by_fd.clear()
        self.names = ()

    def _open(self, info: LinkInfo) -> None:
        try:
            sock = open_packet_socket(info.name)
        except PermissionError:
            raise  # no CAP_NET_RAW: nothing will ever work, fail loudly
        except OSError as e:  # raced with a link removal; the next event rescans
            log.warning("event=linkOpenFailed iface=%s reason=%s", info.name, e)
            return
        sock.setblocking(False)
        groups = SolicitedGroups(
            sock, ifindex=info.index, ifname=info.name, limit=self._group_limit
        )
        port = Port(info, Link(info.name, info.mac), sock, groups)
        self.by_name[info.name] = port
        self.by_fd[sock.fileno()] = port
        self._epoll.register(sock.fileno(), select.EPOLLIN)
        log.info("event=linkUp iface=%s mac=%s", info.name, info.mac.hex(":"))

    def _close(self, name: str, reason: LinkReason | None) -> None:
        port = self.by_name.pop(name)
        fd = port.sock.fileno()
        self.by_fd.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(fd)
        port.close()
        log.info("event=linkDown iface=%s reason=%s", name, reason or "changed")
