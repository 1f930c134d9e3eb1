"""The kernel's view of interfaces, and link events as they happen.

``scan_links`` dumps all links over rtnetlink (pyroute2 ``get_links``) into ``LinkInfo``;
the pure rules in ``orchestrator.core.l2.wire.links`` decide which ones we answer on. Netlink
gives flags, type, MAC and master in one dump, without reading ``/sys`` (whose view depends
on which namespace mounted it).

``LinkEvents`` is a netlink socket subscribed to RTMGRP_LINK (link added, removed, up, down,
enslaved, MAC changed) that the announcer polls in its own epoll loop, so a change leads to a
rescan within milliseconds; the announcer also rescans every 10 s as MetalLB does, in case
an event was lost (a full netlink queue reports ENOBUFS, which we also treat as "rescan").
The socket is ours and non-blocking, and pyroute2 only decodes what it reads: pyroute2's own
event API (0.9) runs an asyncio loop per thread that buffers messages out of the
descriptor's sight and cannot be woken from another thread to shut down.
"""

from __future__ import annotations

import socket

from pyroute2 import IPRoute
from pyroute2.netlink.rtnl import RTMGRP_LINK
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from orchestrator.core.l2.wire import LinkInfo


def scan_links() -> list[LinkInfo]:
    """Every link in this network namespace."""
    with IPRoute() as ipr:
        messages = list(ipr.get_links())
    links = []
    for msg in messages:
        name = msg.get_attr("IFLA_IFNAME")
        if not name:
            continue
        address = msg.get_attr("IFLA_ADDRESS") or ""
        try:
            mac = bytes.fromhex(address.replace(":", ""))
        except ValueError:
            mac = b""
        links.append(
            LinkInfo(
                index=int(msg["index"]),
                name=str(name),
                mac=mac,
                flags=int(msg["flags"]),
                link_type=int(msg["ifi_type"]),
                master=msg.get_attr("IFLA_MASTER"),
            )
        )
    return links


class LinkEvents:
    """Non-blocking netlink socket on the link multicast group; ``read`` drains it."""

    def __init__(self) -> None:
        self._sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE
        )
        try:
            self._sock.bind((0, RTMGRP_LINK))
        except OSError:
            self._sock.close()
            raise
        self._marshal = MarshalRtnl()

    def fileno(self) -> int:
        return self._sock.fileno()

    def read(self) -> list[str]:
        """Describe the queued events ("RTM_NEWLINK eth0"); ["overflow"] if some were lost."""
        events: list[str] = []
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return events
            except OSError:  # ENOBUFS: the kernel dropped events; the caller rescans anyway
                events.append("overflow")
                continue
            try:
                for msg in self._marshal.parse(data):
                    events.append(f"{msg.get('event')} {msg.get_attr('IFLA_IFNAME')}")
            except Exception as e:  # undecodable: still a change worth a rescan
                events.append(f"undecoded {e!r}")

    def close(self) -> None:
        self._sock.close()
