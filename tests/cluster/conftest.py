"""Cluster tier fixtures: one real control plane per test module (about 3 s to start), the
chart installed on it by real Helm, and a runner that starts our processes as the chart
does, on its ServiceAccounts' tokens.

A module's tests share its server: each cleans up what its controller could see (or works
in a Namespace of its own, ``ns``). A module that needs its server configured otherwise
overrides ``apiserver_args`` (``test_compaction.py``: watches served by etcd). The binaries
come from ``make kube-bins``; without them the tier skips on a developer machine and fails
under ``CI=true``.

Tests of the Kubernetes adapter in-process (moved here from the emulator's contract tier)
use ``api``: a ``RealApi`` (``tests/harness/realapi.py``) with the emulator's store calls,
each component's own ServiceAccount token and the audit log's record of its requests; its
objects are swept after each test. ``started`` stops the informers a test started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from orchestrator.adapters.kube.informer import Informer, Informers
from orchestrator.lab.controlplane import ControlPlaneError, find_bins
from tests.harness.cluster import (
    CHART,
    CONTROLLER_SA,
    NAMESPACE,
    RELEASE,
    SPEAKER_SA,
    Cluster,
    Process,
    chart_argv,
    container_args,
    release_objects,
)
from tests.harness.prereq import require
from tests.harness.realapi import RealApi

#: helm values of the release every test shares: layer 2 only (no sidecar to run), our
#: processes' settings Secret with no ModuleConfig pools (tests bring their own objects), no
#: admission webhook (nothing serves it for these modules: test_admission.py installs its own)
VALUES = (
    "--set",
    "speaker.backend=none",
    "--set",
    "settingsVersion=2",
    "--set",
    "webhook.enabled=false",
)


@pytest.fixture(scope="module")
def apiserver_args() -> tuple[str, ...]:
    """More kube-apiserver flags for this module's control plane: a module overrides it."""
    return ()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, apiserver_args: tuple[str, ...]
) -> Iterator[Cluster]:
    try:
        bins = find_bins()
    except ControlPlaneError as e:
        require(False, str(e))
        raise
    c = Cluster(tmp_path_factory.mktemp("cluster"), bins, extra_args=apiserver_args)
    try:
        c.start()
    except Exception:
        print(c.log_tail("etcd"), c.log_tail("kube-apiserver"), sep="\n")
        c.stop()
        raise
    yield c
    c.stop()


@pytest.fixture(scope="module")
def installed(cluster: Cluster) -> Cluster:
    """The chart, installed for real: CRDs, RBAC, ServiceAccounts, workloads (which never
    run here: there is no kubelet), the settings Secret."""
    cluster.helm("install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace", *VALUES)
    return cluster


@pytest.fixture
def ns(installed: Cluster, request: pytest.FixtureRequest) -> str:
    """A Namespace for this test alone."""
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
    installed.kubectl("create", "namespace", name)
    return name


@pytest.fixture(scope="module")
def real(installed: Cluster) -> Iterator[RealApi]:
    api = RealApi(installed)
    yield api
    api.close()


@pytest.fixture
def api(real: RealApi) -> Iterator[RealApi]:
    """The module's ``RealApi``, its audit record starting with this test; what the test
    left on the server is swept afterwards."""
    real.begin()
    yield real
    real.cleanup()


Inf = TypeVar("Inf", Informer, Informers)


class Started:
    """Informers a test started, stopped at teardown (each within 2 s: a stop shuts the
    watch stream down, it does not wait for the server to end it)."""

    def __init__(self) -> None:
        self.informers: list[Informer | Informers] = []

    def __call__(self, informers: Inf) -> Inf:
        self.informers.append(informers)
        informers.start()
        return informers

    def stop(self) -> None:
        for infs in reversed(self.informers):
            infs.stop(timeout=2)
        alive = [
            inf.resource.plural
            for infs in self.informers
            for inf in (infs.by_kind.values() if isinstance(infs, Informers) else [infs])
            if inf._thread is not None and inf._thread.is_alive()
        ]
        assert alive == [], f"informers still running: {alive}"


@pytest.fixture
def started() -> Iterator[Started]:
    s = Started()
    yield s
    s.stop()


class Runner:
    """Starts ``mlb controller``/``mlb speaker`` as the chart would, stops them at teardown."""

    def __init__(self, cluster: Cluster, directory: Path) -> None:
        self.cluster = cluster
        self.directory = directory
        self.objects = release_objects(cluster)
        self.procs: list[Process] = []
        self._kubeconfigs: dict[str, Path] = {}

    def kubeconfig(self, sa: str) -> Path:
        if sa not in self._kubeconfigs:
            self._kubeconfigs[sa] = self.cluster.token_kubeconfig(sa)
        return self._kubeconfigs[sa]

    def controller(self, name: str = "controller-0", *extra: str) -> Process:
        args = container_args(self.objects, "Deployment", "controller")
        argv = chart_argv(
            args, kubeconfig=self.kubeconfig(CONTROLLER_SA), env={"POD_NAME": name}, extra=extra
        )
        return self._start(name, argv)

    def speaker(self, node: str, *extra: str) -> Process:
        args = container_args(self.objects, "DaemonSet", "speaker")
        argv = chart_argv(
            args,
            kubeconfig=self.kubeconfig(SPEAKER_SA),
            env={"NODE_NAME": node, "POD_NAME": f"speaker-{node}"},
            extra=("--no-l2", *extra),
        )
        return self._start(f"speaker-{node}", argv)

    def _start(self, name: str, argv: list[str]) -> Process:
        proc = Process(name, argv, self.directory)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in self.procs)


@pytest.fixture
def run(installed: Cluster, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runner]:
    runner = Runner(installed, tmp_path)
    yield runner
    runner.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(runner.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if call.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
