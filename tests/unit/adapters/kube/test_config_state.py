"""What ConfigurationState says for a configuration, and what the loop hands the writer."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.kube.config_state import Wanted, state_status, wanted_of
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse import parse_snapshot
from orchestrator.ports import Loaded

NS = "metallb-system"


def _pool(name: str, *addresses: str) -> tuple[str, dict[str, Any]]:
    doc = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"addresses": list(addresses)},
    }
    return f"IPAddressPool/{NS}/{name}", doc


def test_results() -> None:
    assert state_status(Wanted(synced=False), "t")["result"] == "Unknown"
    valid = state_status(Wanted(synced=True), "t")
    assert valid["result"] == "Valid" and valid["conditions"][0]["status"] == "True"
    errors = tuple(FieldError(f"IPAddressPool/p{i}", "spec", "bad") for i in range(25))
    bad = state_status(Wanted(errors, synced=True), "t")
    assert bad["result"] == "Invalid" and bad["conditions"][0]["reason"] == "ConfigError"
    assert bad["errorSummary"].splitlines()[0] == "IPAddressPool/p0: spec: bad"
    assert bad["errorSummary"].endswith("(and 5 more)")


def test_wanted_of_a_broken_pool_beside_a_good_one() -> None:
    snapshot = parse_snapshot([_pool("good", "192.0.2.0/28"), _pool("broken", "198.51.100.300/29")])
    loaded = Loaded(snapshot, snapshot.problems, statuses={"apps/web": {"ingress": ["192.0.2.3"]}})
    wanted = wanted_of(loaded, synced=True)
    assert [str(e) for e in wanted.errors] == [
        'IPAddressPool/broken: spec.addresses[0]: "198.51.100.300/29" is not a valid CIDR'
    ]
    assert wanted.pools == {
        "good": {"assignedIPv4": 1, "assignedIPv6": 0, "availableIPv4": 15, "availableIPv6": 0}
    }
    warning = FieldError("IPAddressPool/x", "", "w", Severity.WARNING)
    assert wanted_of(Loaded(None, (warning,)), synced=False) == Wanted(synced=False)
