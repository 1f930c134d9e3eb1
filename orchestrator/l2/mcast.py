"""Make the NIC accept neighbour solicitations for our IPv6 VIPs.

A host resolving an IPv6 address sends the solicitation to the target's solicited-node
group ff02::1:ffXX:XXXX (Ethernet 33:33:ff:XX:XX:XX). The kernel does not own the VIP, so
the NIC filters that multicast out before any socket, even AF_PACKET, can see it. Per link:

1. join each group through an IPv6 socket (``IPV6_JOIN_GROUP``), as MetalLB's ndp library
   does: it programs the NIC filter and makes the kernel send MLD reports, which switches
   with MLD snooping need to forward the group to us at all;
2. if that fails (IPv6 disabled on the link, socket option memory exhausted), add the MAC
   to the NIC filter through the packet socket (``PACKET_MR_MULTICAST``; no MLD report);
3. above ``limit`` distinct groups (10,000 VIPs are 10,000 groups), switch the link to
   all-multicast (``PACKET_MR_ALLMULTI``) instead of holding thousands of entries; MLD
   snooping switches then need a querier-less flood or static configuration.

Every membership belongs to a socket the announcer owns, so the kernel drops them when it
closes the socket — also after a crash.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable

from orchestrator.core.l2.wire.frames import multicast_mac, solicited_node
from orchestrator.l2.bpf import packet_membership

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 256


class SolicitedGroups:
    """Solicited-node memberships of one link, updated to a desired set of IPv6 VIPs."""

    def __init__(
        self, packet_sock: socket.socket, *, ifindex: int, ifname: str, limit: int = DEFAULT_LIMIT
    ) -> None:
        self._packet = packet_sock
        self._ifindex = ifindex
        self._ifname = ifname
        self._limit = limit
        self._inet6: socket.socket | None = None
        self._joined: dict[bytes, bool] = {}  # group -> joined through the IPv6 socket
        self.allmulti = False

    def update(self, addresses: Iterable[bytes]) -> None:
        """Hold exactly the groups of these packed IPv6 addresses (4-byte ones are ignored)."""
        wanted = {solicited_node(a) for a in addresses if len(a) == 16}
        if len(wanted) > self._limit:
            self._leave_all()
            if not self.allmulti:
                packet_membership(self._packet, self._ifindex, mac=None)
                self.allmulti = True
                log.info("event=allmulti iface=%s groups=%d", self._ifname, len(wanted))
            return
        if self.allmulti:
            packet_membership(self._packet, self._ifindex, mac=None, add=False)
            self.allmulti = False
        for group in [g for g in self._joined if g not in wanted]:
            self._leave(group)
        for group in wanted - self._joined.keys():
            self._join(group)

    def close(self) -> None:
        if self._inet6 is not None:
            self._inet6.close()
            self._inet6 = None
        self._joined.clear()

    @property
    def groups(self) -> frozenset[bytes]:
        return frozenset(self._joined)

    def _join(self, group: bytes) -> None:
        try:
            self._inet6_sock().setsockopt(
                socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, self._mreq(group)
            )
            self._joined[group] = True
            return
        except OSError as e:
            log.debug("event=mldJoinFailed iface=%s reason=%s", self._ifname, e)
        try:
            packet_membership(self._packet, self._ifindex, mac=multicast_mac(group))
            self._joined[group] = False
        except OSError as e:
            log.warning("event=multicastJoinFailed iface=%s reason=%s", self._ifname, e)

    def _leave(self, group: bytes) -> None:
        through_inet6 = self._joined.pop(group)
        try:
            if through_inet6:
                self._inet6_sock().setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, self._mreq(group)
                )
            else:
                packet_membership(self._packet, self._ifindex, mac=multicast_mac(group), add=False)
        except OSError as e:
            log.debug("event=multicastLeaveFailed iface=%s reason=%s", self._ifname, e)

    def _leave_all(self) -> None:
        for group in list(self._joined):
            self._leave(group)

    def _mreq(self, group: bytes) -> bytes:
        return group + struct.pack("I", self._ifindex)

    def _inet6_sock(self) -> socket.socket:
        if self._inet6 is None:
            self._inet6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        return self._inet6
