"""Network namespaces for tests, benchmarks and the lab.

Everything created here lives inside namespaces this object made (named with a per-process
prefix so parallel runs never collide), and ``close()`` removes all of it — processes first,
then namespaces (deleting a namespace deletes its veths and bridges). Use it as a context
manager so cleanup also happens when a test fails. Nothing here touches the root namespace's
addresses or routes; the only root-namespace action is creating a veth pair whose ends are
moved into namespaces at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from types import TracebackType

from orchestrator.adapters.procs import stop_groups

DEFAULT_TIMEOUT = 20.0


class NetnsError(RuntimeError):
    """A command in a namespace failed; the message carries its stderr (truncated)."""


class Namespaces:
    def __init__(self, tag: str = "t") -> None:
        self.prefix = f"mlb{tag}{os.getpid() % 100000}-"
        self.names: list[str] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    # -- lifecycle
    def __enter__(self) -> Namespaces:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, short: str) -> str:
        """Create namespace ``<prefix><short>`` with loopback up; returns its full name."""
        name = self.prefix + short
        _run(["ip", "netns", "add", name])
        self.names.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def close(self) -> None:
        stop_groups(self._procs, timeout=3)
        self._procs.clear()
        for name in reversed(self.names):
            # processes that daemonized themselves (bgpd -d) are still in the namespace
            pids = subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        self.names.clear()

    # -- commands
    def run(
        self, ns: str, *cmd: str, check: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return _run(["ip", "netns", "exec", ns, *cmd], check=check, timeout=timeout)

    def popen(self, ns: str, *cmd: str, **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a long-running process in ``ns``; it is killed (with its group) on close."""
        proc: subprocess.Popen[bytes] = subprocess.Popen(
            ["ip", "netns", "exec", ns, *cmd],
            start_new_session=True,
            **kwargs,  # type: ignore[call-overload]
        )
        self._procs.append(proc)
        return proc

    # -- topology
    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
        """A veth pair with one end in each namespace (both brought up)."""
        _run(
            [
                "ip",
                "link",
                "add",
                if_a,
                "netns",
                ns_a,
                "type",
                "veth",
                "peer",
                "name",
                if_b,
                "netns",
                ns_b,
            ]
        )
        self.run(ns_a, "ip", "link", "set", if_a, "up")
        self.run(ns_b, "ip", "link", "set", if_b, "up")

    def bridge(self, ns: str, name: str) -> None:
        self.run(ns, "ip", "link", "add", name, "type", "bridge")
        self.run(ns, "ip", "link", "set", name, "up")

    def enslave(self, ns: str, iface: str, bridge: str) -> None:
        self.run(ns, "ip", "link", "set", iface, "master", bridge)

    def addr(self, ns: str, iface: str, cidr: str) -> None:
        extra: Sequence[str] = ("nodad",) if ":" in cidr else ()
        self.run(ns, "ip", "addr", "add", cidr, "dev", iface, *extra)

    def mac(self, ns: str, iface: str) -> str:
        out = self.run(ns, "cat", f"/sys/class/net/{iface}/address").stdout
        return out.strip()


def _run(
    cmd: list[str], *, check: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[:400]}")
    return proc


def leftover_namespaces(prefix: str = "mlb") -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in out.stdout.splitlines() if line.startswith(prefix)]
