"""A lease means "I can answer" (docs/design.md §15): the speaker renews its lease only
after a pass with a usable configuration, while its announcer holds the current table, and
while its routing daemon's connection is up; otherwise the lease lapses and the others
take over. Over real files; the announcer and the routing backend are stand-ins that
report readiness on demand (a real child cannot be made "not ready" at will here; the
integration test ``test_l2_standby`` kills a real one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import IPAddress
from orchestrator.ports import Loaded
from orchestrator.runtime.readiness import HoldReason
from orchestrator.runtime.speaker import Speaker

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"


class Announcer:
    def __init__(self) -> None:
        self.up = True
        self.keepalives = 0

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        pass

    def ready(self) -> bool:
        return self.up

    def keepalive(self) -> None:
        self.keepalives += 1


class Backend:
    def __init__(self) -> None:
        self.up = True

    def apply(self, intent: NodeBGPIntent) -> object:
        return None

    def ready(self) -> bool:
        return self.up


class Unreadable:
    def load(self) -> Loaded:
        return Loaded(snapshot=None, statuses={}, problems=())


def leased(state: StateDir) -> set[str]:
    return {r.node for r in state.read_leases()}


def speaker(tmp_path: Path, **kwargs: object) -> tuple[Speaker, StateDir]:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    state = StateDir(tmp_path / "state")
    source = kwargs.pop("source", None) or ManifestSource(src, state, settle=0)
    return Speaker("frontend-1", source, state, **kwargs), state  # type: ignore[arg-type]


def test_no_lease_before_the_first_pass(tmp_path: Path) -> None:
    s, state = speaker(tmp_path, l2=Announcer())
    assert s.renew() is False and s.held is HoldReason.STARTING
    s.reconcile()
    assert s.renew() is True and leased(state) == {"frontend-1"}


def test_no_lease_without_a_usable_configuration(tmp_path: Path) -> None:
    s, state = speaker(tmp_path, l2=Announcer(), source=Unreadable())
    s.reconcile()
    assert s.renew() is False and s.held is HoldReason.NO_CONFIGURATION
    assert leased(state) == set()


def test_the_lease_lapses_while_the_announcer_cannot_answer(tmp_path: Path) -> None:
    port = Announcer()
    s, state = speaker(tmp_path, l2=port)
    s.reconcile()
    assert s.renew() is True
    before = {r.token for r in state.read_leases()}
    port.up = False  # its child died, or has not confirmed the current table yet
    assert s.renew() is False and s.held is HoldReason.ANNOUNCER_NOT_READY
    assert {r.token for r in state.read_leases()} == before  # not renewed
    assert port.keepalives == 1
    port.up = True
    assert s.renew() is True and s.held is None


def test_the_lease_lapses_while_the_routing_daemon_is_unreachable(tmp_path: Path) -> None:
    backend = Backend()
    s, _ = speaker(tmp_path, bgp=backend)
    s.reconcile()
    backend.up = False
    assert s.renew() is False and s.held is HoldReason.ROUTING_NOT_READY
