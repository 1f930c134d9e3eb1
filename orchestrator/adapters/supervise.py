"""Keep a set of processes running: the supervisor of ``mlb frr run`` and of each lab node.

In a cluster the kubelet restarts a dead container; outside one, nothing did: a ``bgpd``,
``zebra``, ``gobgpd`` or speaker that died stayed dead. ``Supervisor`` starts its children
in order (each ``ready`` before the next starts: zebra before bgpd, the daemon before the
speaker) and then watches them. When one exits it logs it (warning, with the exit status)
and starts it again after a backoff delay (``orchestrator.backoff``: 1 s doubling to 30 s),
the delay falling back to the first step once a child has run for ``stable_after``
seconds, so a daemon that crashes at once is not restarted in a tight loop while one that
died after a day comes back in a second. The others keep running: bgpd reconnects to a
restarted zebra, the speaker's routing worker repairs a restarted daemon.

With ``policy=RestartPolicy.NEVER`` the first exit ends ``run`` instead (the old sidecar
behaviour, for a container whose restart is the kubelet's).

How a child is started is the caller's (``Child.start``: a ``subprocess.Popen`` in the
foreground, a detached lab process); ``Child.prepare`` runs before every start (remove a
stale socket), ``Child.ready`` waits until it serves and raises when it cannot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from orchestrator.backoff import Backoff
from orchestrator.log import Logger


class Process(Protocol):
    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...


@dataclass(frozen=True)
class Child:
    name: str
    start: Callable[[], Process]
    ready: Callable[[Process], None] | None = None
    prepare: Callable[[], None] | None = None


class RestartPolicy(StrEnum):
    ALWAYS = "always"
    NEVER = "never"


class StartFailed(RuntimeError):
    """A child could not be started (at the first start: the caller gives up)."""


@dataclass
class _State:
    child: Child
    process: Process | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None  # set once its exit was seen
    restarts: int = 0


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        log: Logger,
        policy: RestartPolicy = RestartPolicy.ALWAYS,
        backoff: Backoff | None = None,
        stable_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states = [_State(c) for c in children]
        self.log = log
        self.policy = policy
        self.backoff = backoff or Backoff(initial=1.0, factor=2.0, maximum=30.0)
        self.stable_after = stable_after
        self._clock = clock

    @property
    def processes(self) -> dict[str, Process]:
        return {s.child.name: s.process for s in self._states if s.process is not None}

    def restarts(self, name: str) -> int:
        return next(s.restarts for s in self._states if s.child.name == name)

    def _start(self, state: _State) -> None:
        child = state.child
        try:
            if child.prepare is not None:
                child.prepare()
            state.process = child.start()
            if child.ready is not None:
                child.ready(state.process)
        except Exception as e:
            raise StartFailed(f"{child.name}: {e}") from e
        state.started_at = self._clock()
        state.restart_at = None

    def start(self) -> None:
        """Start every child in order; ``StartFailed`` names the first that did not come up."""
        for state in self._states:
            self._start(state)
            assert state.process is not None
            self.log("started", name=state.child.name, pid=state.process.pid)

    def check(self) -> str | None:
        """One round: note exits, restart what is due. Returns the name of a child that
        exited under ``RestartPolicy.NEVER``."""
        now = self._clock()
        for state in self._states:
            process = state.process
            if process is None or (state.restart_at is None and process.poll() is None):
                continue
            if state.restart_at is None:  # its exit, seen now
                status = process.poll()
                ran = now - state.started_at
                state.failures = 1 if ran >= self.stable_after else state.failures + 1
                if self.policy is RestartPolicy.NEVER:
                    self.log(
                        "exited", level="error", name=state.child.name, pid=process.pid,
                        status=status, msg="not restarted (restart policy: never)",
                    )  # fmt: skip
                    return state.child.name
                delay = self.backoff.delay(state.failures)
                state.restart_at = now + delay
                self.log(
                    "exited", level="warning", name=state.child.name, pid=process.pid,
                    status=status, ran=f"{ran:.1f}s", restartIn=f"{delay:.1f}s",
                )  # fmt: skip
            if now < state.restart_at:
                continue
            try:
                self._start(state)
            except StartFailed as e:
                state.failures += 1
                delay = self.backoff.delay(state.failures)
                state.restart_at = self._clock() + delay
                self.log("restartFailed", level="error", name=state.child.name,
                         retryIn=f"{delay:.1f}s", msg=str(e))  # fmt: skip
                continue
            state.restarts += 1
            assert state.process is not None
            self.log(
                "restarted", level="warning", name=state.child.name, pid=state.process.pid,
                restarts=state.restarts,
            )  # fmt: skip
        return None

    def run(self, stop: threading.Event, *, poll: float = 0.2) -> str | None:
        """Watch until ``stop`` is set (None) or, under ``NEVER``, a child exits (its name)."""
        while not stop.wait(poll):
            dead = self.check()
            if dead is not None:
                return dead
        return None
