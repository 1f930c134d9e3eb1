"""A TCP forwarder from the root namespace's loopback into one lab namespace.

``mlb lab up --kube`` runs kube-apiserver inside the lab (the switch namespace, on the lab
LAN, where the speakers reach it as they would reach a real control plane). A user's
``kubectl`` runs in the root namespace, which the lab must not give an address or a route.
So this process listens on ``127.0.0.1:PORT`` of the root namespace, then moves itself into
the lab namespace (``setns``): the listening socket stays where it was made, every
connection it opens is made inside the lab. Nothing is added to the root namespace but one
loopback listener, and no packet leaves the machine.

    python -m orchestrator.lab.forward --listen 127.0.0.1:PORT --netns NS --connect IP:PORT

Each connection is two threads copying bytes until either side closes (TLS passes through
untouched: the certificate names 127.0.0.1 too). Bounded: at most ``MAX_CONNECTIONS`` at a
time; a connection that cannot be made inside the lab within 5 s is closed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from types import FrameType

CLONE_NEWNET = 0x40000000
MAX_CONNECTIONS = 256
CHUNK = 65536


def enter_netns(name: str) -> None:
    """Move this process into network namespace ``name`` (``ip netns`` naming)."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{name}") as ns:
        if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve(client: socket.socket, target: tuple[str, int], slots: threading.Semaphore) -> None:
    try:
        with client, socket.create_connection(target, timeout=5) as upstream:
            upstream.settimeout(None)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()
    except OSError:
        pass
    finally:
        slots.release()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--netns", required=True, metavar="NS")
    parser.add_argument("--connect", required=True, metavar="IP:PORT")
    args = parser.parse_args(argv)
    listener = socket.create_server(_address(args.listen), reuse_port=False)
    enter_netns(args.netns)  # from here on, new sockets are the lab's
    target = _address(args.connect)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        listener.close()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"forwarding {args.listen} -> {args.netns} {args.connect}", flush=True)
    while not stopping.is_set():
        try:
            client, _ = listener.accept()
        except OSError:
            break
        if not slots.acquire(timeout=5):
            client.close()
            continue
        threading.Thread(target=_serve, args=(client, target, slots), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
