"""``mlb l2 announce``: run the Layer-2 announcer in the foreground, for engineers and tests.

It is the speaker's announcer (``orchestrator.l2.Announcer``) with a fixed set of IPs: same
sockets, same loop thread, same decisions. It prints one line when it answers
(``announcing 3 addresses on eth0``), withdraws everything on SIGTERM or SIGINT, prints its
counters as one ``stats {...}`` JSON line on stderr and exits 0.

Addresses are IPs, CIDRs or ranges ``a-b``, IPv4 and IPv6 mixed, at most 65,536 in all.
``--interface`` (repeatable) restricts answering to the named links and, because the
operator named them, bypasses MetalLB's default exclusion of names like ``veth*``; without
it every eligible link is used, as in the speaker.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from orchestrator import log
from orchestrator.core.model.cluster import IPAddress

MAX_ADDRESSES = 65_536


class AddressError(ValueError):
    pass


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("l2", help="Layer-2 (ARP/NDP) announcer tools")
    l2sub = p.add_subparsers(dest="l2_command", required=True, metavar="SUBCOMMAND")
    a: argparse.ArgumentParser = l2sub.add_parser(
        "announce",
        help="answer ARP/NDP for the given addresses until SIGTERM",
        description="Answer ARP and NDP for ADDR... in the foreground, as the speaker does.",
    )
    a.add_argument(
        "--interface",
        "-i",
        action="append",
        default=[],
        metavar="IFACE",
        help="answer only on this interface (repeatable; default: every eligible one)",
    )
    a.add_argument(
        "--refresh",
        type=float,
        default=None,
        metavar="SECONDS",
        help="after the takeover burst, re-send gratuitous ARP/NA every SECONDS (default: off)",
    )
    a.add_argument("--verbose", "-v", action="store_true", help="log link and burst events")
    a.add_argument("addresses", nargs="+", metavar="ADDR", help="IP, CIDR or range a-b")
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        ips = expand_addresses(args.addresses)
    except AddressError as e:
        print(f"mlb l2 announce: {e}", file=sys.stderr)
        return 2
    if args.refresh is not None and args.refresh <= 0:
        print("mlb l2 announce: --refresh must be > 0", file=sys.stderr)
        return 2
    # link and burst events are info: shown with --verbose (or an explicit --log-level)
    log.configure(getattr(args, "log_level", None) or ("info" if args.verbose else "warning"))
    return _announce(ips, interfaces=args.interface or None, refresh=args.refresh)


def _announce(ips: list[IPAddress], *, interfaces: list[str] | None, refresh: float | None) -> int:
    # imported here so that `mlb --help` and the other subcommands do not load pyroute2
    from orchestrator.l2 import Announcer, GarpTiming

    signals = {signal.SIGTERM, signal.SIGINT}
    # Block the signals before any thread starts (threads inherit the mask), then take them
    # synchronously with sigtimedwait: no handler can interrupt the announcer mid-way.
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    announcer = Announcer(interfaces=interfaces, timing=GarpTiming(refresh=refresh))
    code = 0
    try:
        try:
            announcer.start()
        except OSError as e:  # no CAP_NET_RAW, netlink unavailable
            print(f"mlb l2 announce: cannot start: {e}", file=sys.stderr)
            return 1
        announcer.set_announced(dict.fromkeys(ips))
        status = announcer.link_status()
        for name in interfaces or ():
            reason = status.get(name, "absent")
            if reason is not None:
                print(f"warning: not answering on {name} for now: {reason}", file=sys.stderr)
        where = ", ".join(announcer.links) or "no interface yet"
        print(f"announcing {len(ips)} addresses on {where}", flush=True)
        while signal.sigtimedwait(signals, 1.0) is None:
            if announcer.error is not None:
                print(f"mlb l2 announce: announcer failed: {announcer.error}", file=sys.stderr)
                code = 1
                break
    finally:
        announcer.stop()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    print("stats " + json.dumps(announcer.stats.summary()), file=sys.stderr, flush=True)
    return code


def expand_addresses(specs: Sequence[str], *, cap: int = MAX_ADDRESSES) -> list[IPAddress]:
    """IPs, CIDRs (host bits must be clear) and ranges ``a-b``, in order, without duplicates."""
    out: dict[IPAddress, None] = {}
    for spec in specs:
        first, last = _bounds(spec.strip())
        count = int(last) - int(first) + 1
        if len(out) + count > cap:
            raise AddressError(f"{spec}: more than {cap} addresses in all")
        kind = type(first)
        for value in range(int(first), int(last) + 1):
            out[kind(value)] = None
    return list(out)


def _bounds(spec: str) -> tuple[IPAddress, IPAddress]:
    try:
        if "/" in spec:
            net = ipaddress.ip_network(spec, strict=True)
            return net[0], net[-1]
        if "-" in spec:
            a, b = (ipaddress.ip_address(part.strip()) for part in spec.split("-", 1))
            if a.version != b.version:
                raise AddressError(f"{spec}: range mixes IPv4 and IPv6")
            if int(b) < int(a):
                raise AddressError(f"{spec}: range ends before it starts")
            return a, b
        ip = ipaddress.ip_address(spec)
        return ip, ip
    except ValueError as e:
        if isinstance(e, AddressError):
            raise
        raise AddressError(f"{spec}: not an IP, CIDR or range a-b ({e})") from e
