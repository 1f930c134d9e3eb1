"""The process supervisor (orchestrator.adapters.supervise) over process doubles, in
virtual time (the real daemons are in tests/e2e and tests/integration/test_pod_capabilities).

Matrix: children start in order, each ready before the next; an exit is logged at warning
with its status and the child started again after the backoff (1 s, 2 s, 4 s ... for one
that keeps dying at once), back to 1 s after it ran ``stable_after``; the others are left
alone; a restart that fails is retried with backoff and logged at error; under
``RestartPolicy.NEVER`` the first exit ends ``check`` with the child's name.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from orchestrator import log
from orchestrator.adapters.supervise import Child, RestartPolicy, StartFailed, Supervisor
from orchestrator.backoff import Backoff


class Proc:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None

    def poll(self) -> int | None:
        return self.status


class World:
    def __init__(self) -> None:
        self.now = 0.0
        self.started: list[str] = []
        self.procs: dict[str, Proc] = {}
        self.broken: set[str] = set()
        self._pid = 100

    def child(self, name: str) -> Child:
        def start() -> Proc:
            if name in self.broken:
                raise OSError(f"{name}: no such file")
            self._pid += 1
            self.procs[name] = Proc(self._pid)
            self.started.append(name)
            return self.procs[name]

        def ready(proc: object) -> None:
            assert self.started[-1] == name  # nothing else started before this one is up

        return Child(name, start=start, ready=ready)

    def clock(self) -> float:
        return self.now


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    log.configure("info", stream=stream)
    yield stream
    log.configure("info")


def supervisor(world: World, **kw: object) -> Supervisor:
    return Supervisor(
        [world.child(n) for n in ("zebra", "bgpd", "speaker")],
        log=log.Logger("test"),
        backoff=Backoff(initial=1.0, factor=2.0, maximum=30.0),
        stable_after=30.0,
        clock=world.clock,
        **kw,  # type: ignore[arg-type]
    )


def run(world: World, sup: Supervisor, until: float) -> None:
    while world.now < until:
        sup.check()
        world.now = round(world.now + 0.1, 6)


def test_a_dead_child_is_restarted_with_backoff_and_the_others_left_alone(
    out: io.StringIO,
) -> None:
    world = World()
    sup = supervisor(world)
    sup.start()
    assert world.started == ["zebra", "bgpd", "speaker"]
    zebra = world.procs["zebra"]
    world.procs["bgpd"].status = -9  # SIGKILL
    run(world, sup, 0.95)
    assert world.started.count("bgpd") == 1  # waits out the first step (1 s)
    run(world, sup, 1.1)
    assert world.started.count("bgpd") == 2 and sup.restarts("bgpd") == 1
    assert world.procs["zebra"] is zebra
    exited = [ln for ln in out.getvalue().splitlines() if "event=exited" in ln]
    assert len(exited) == 1 and "level=warning" in exited[0] and "status=-9" in exited[0]
    assert "name=bgpd" in exited[0] and "restartIn=1.0s" in exited[0]
    assert "event=restarted" in out.getvalue()


def test_a_child_that_keeps_dying_backs_off_and_a_stable_one_starts_over(
    out: io.StringIO,
) -> None:
    world = World()
    sup = supervisor(world)
    sup.start()
    starts = []
    for _ in range(4):  # dies as soon as it is started
        world.procs["speaker"].status = 1
        before = world.started.count("speaker")
        while world.started.count("speaker") == before:
            sup.check()
            world.now = round(world.now + 0.1, 6)
        starts.append(world.now)
    gaps = [round(b - a, 1) for a, b in zip([0.0, *starts], starts, strict=False)]
    assert gaps == [1.1, 2.1, 4.1, 8.1]  # 1, 2, 4, 8 s (plus one poll step each)
    run(world, sup, world.now + 40)  # ran longer than stable_after
    world.procs["speaker"].status = 1
    began = world.now
    while world.started.count("speaker") == 5:
        sup.check()
        world.now = round(world.now + 0.1, 6)
    assert world.now - began == pytest.approx(1.1)


def test_a_failed_restart_is_retried_and_logged(out: io.StringIO) -> None:
    world = World()
    sup = supervisor(world)
    sup.start()
    world.broken.add("bgpd")
    world.procs["bgpd"].status = 0
    run(world, sup, 5.0)
    failed = [ln for ln in out.getvalue().splitlines() if "event=restartFailed" in ln]
    assert failed and "level=error" in failed[0] and "no such file" in failed[0]
    world.broken.clear()
    run(world, sup, 20.0)
    assert world.procs["bgpd"].poll() is None and sup.restarts("bgpd") == 1


def test_never_ends_at_the_first_exit_and_a_failed_first_start_is_an_error(
    out: io.StringIO,
) -> None:
    world = World()
    sup = supervisor(world, policy=RestartPolicy.NEVER)
    sup.start()
    world.procs["bgpd"].status = -9
    assert sup.check() == "bgpd" and world.started.count("bgpd") == 1
    broken = World()
    broken.broken.add("bgpd")
    with pytest.raises(StartFailed, match="bgpd: bgpd: no such file"):
        supervisor(broken).start()
    assert broken.started == ["zebra"]
