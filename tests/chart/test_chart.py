"""The Helm chart (charts/metallb-orchestrator) and the Containerfile, checked offline.

The chart is rendered by Helm's own Go SDK (``helm_python``), with these value sets
(``conftest.VALUE_SETS``): the defaults; ``speaker.backend`` frr, gobgp (with interfaces
and lease timings) and none; ``examples/helm/values-l2.yaml`` and ``values-bgp.yaml``; the
``spec.settings`` of ``examples/moduleconfig/moduleconfig.yaml`` passed unchanged; and every
toggle off (metrics, RBAC, ServiceAccounts, PDB) with settings version 2.

For every value set:

- ``helm lint --strict``: no error, no warning;
- every rendered object is valid against the Kubernetes 1.30 schemas (strict:
  ``kubernetes_validate``); ServiceMonitor, not built in, gets a shape check instead;
- policy: no container privileged, each drops ALL and adds only its allowlisted
  capabilities, no privilege escalation, read-only root, only emptyDir volumes (no
  hostPath), speaker on the host network, controller non-root (65534), no ``*`` in RBAC;
- the controller, speaker and FRR sidecar command lines, with ``$(VAR)`` expanded as the
  kubelet does, are accepted by our own ``mlb`` parser; the gobgpd sidecar runs exactly
  ``gobgp.daemon.gobgpd_command``;
- the settings Secret holds a ModuleConfig with only ModuleConfig keys, which parses
  without errors.

Besides: RBAC rules equal the table of what the code calls; the settings Secret of the
ModuleConfig example parses (``parse_snapshot``) to the same config as the example itself,
and carries BGP passwords; metrics on/off; ``values.schema.json`` rejects an unknown
backend, a typo'd top-level key and strings where integers belong (one case each); the
Containerfile: COPY sources exist and are not ignored, the runtime installs frr, gobgpd,
iproute2, python3 and python3-venv, and the commands the chart runs exist there (``mlb``,
``gobgpd``, FRR's daemons in ``/usr/lib/frr`` as ``frr/daemon.py`` expects), and the pod
joins the ``frrvty`` GID the Containerfile fixes; docs/helm.md lists every value.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import grp
import io
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest
import yaml

from frr.daemon import DEFAULT_DAEMONS, FRR_BIN
from gobgp.daemon import gobgpd_command
from orchestrator.cli import build_parser
from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse import parse_snapshot
from tests.chart.conftest import (
    CHART,
    FULLNAME,
    NAMESPACE,
    RELEASE,
    ROOT,
    Obj,
    chart,
    example_documents,
    objects,
    one,
    rendered_files,
    values_of,
)
from tests.harness.prereq import require

KUBE_VERSION = "1.30.0"
#: Kinds that are not built into Kubernetes (no schema in kubernetes_validate).
NOT_BUILT_IN = frozenset({"ServiceMonitor"})

#: Capabilities each container may add back after dropping ALL. FRR's set is what
#: Debian's FRR 8.4 (built with libcap) demands at start, measured with setpriv: zebra,
#: bgpd and bfdd put NET_ADMIN, NET_RAW, SYS_ADMIN (and bgpd/bfdd NET_BIND_SERVICE) into
#: their permitted set and exit ("initial cap_set_proc failed") when the bounding set lacks
#: one; SETUID/SETGID let them drop to the frr user (`mlb frr run` passes -u frr -g frr).
CAPS_ALLOWED: dict[str, frozenset[str]] = {
    "controller": frozenset(),
    "speaker": frozenset({"NET_RAW", "NET_ADMIN", "SYS_NICE"}),
    "frr": frozenset({"NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "SYS_ADMIN", "SETUID", "SETGID"}),
    "gobgpd": frozenset({"NET_BIND_SERVICE"}),
}

#: What the kubelet would put into the downward-API variables.
ENV_FIELDS = {
    "POD_NAME": "metadata.name",
    "POD_NAMESPACE": "metadata.namespace",
    "POD_IP": "status.podIP",
    "NODE_NAME": "spec.nodeName",
}
ENV_SAMPLE = {
    "POD_NAME": "mlb-metallb-orchestrator-controller-5d8f7-x2x9q",
    "POD_NAMESPACE": NAMESPACE,
    "POD_IP": "192.0.2.10",
    "NODE_NAME": "edge-1",
}

GOBGP_API = "unix:///var/run/gobgp/gobgpd.sock"
SETTINGS_SECRET = f"{FULLNAME}-settings"
MODULECONFIG_KEYS = frozenset(
    {
        "loadBalancerClass",
        "nodeSelector",
        "tolerations",
        "speaker",
        "bgpPeers",
        "addressPools",
        "bgpCommunities",
    }
)

LW = frozenset({"list", "watch"})
METALLB_CONFIG = (
    "ipaddresspools",
    "l2advertisements",
    "bgpadvertisements",
    "bgppeers",
    "bfdprofiles",
    "communities",
)
DECKHOUSE_CONFIG = (
    "metalloadbalancerclasses",
    "metalloadbalancerpools",
    "metalloadbalancerbgppeers",
    "metalloadbalancerconfigurations",
    "l2loadbalancers",
)
#: The kinds whose InUse condition the controller writes.
DECKHOUSE_STATUS = DECKHOUSE_CONFIG
RBAC: dict[tuple[str, str], dict[tuple[str, str], frozenset[str]]] = {
    ("ClusterRole", "controller"): {
        ("", "services"): frozenset({"get", "list", "watch", "patch"}),
        ("", "services/status"): frozenset({"get", "update", "patch"}),
        ("discovery.k8s.io", "endpointslices"): LW,
        ("", "nodes"): LW,
        ("", "namespaces"): LW,
        **{("network.deckhouse.io", r): LW for r in DECKHOUSE_CONFIG},
        **{
            ("network.deckhouse.io", f"{r}/status"): frozenset({"get", "patch"})
            for r in DECKHOUSE_STATUS
        },
        ("deckhouse.io", "moduleconfigs"): LW,
        ("", "events"): frozenset({"create", "patch"}),
        # the webhook's trust (resourceNames: its configuration, the BGPPeer CRD)
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): frozenset(
            {"get", "update"}
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"get", "patch"}),
    },
    ("Role", "controller"): {
        # list/watch all; create, then get/update its own webhook certificate by name
        ("", "secrets"): LW | {"create", "get", "update"},
        ("coordination.k8s.io", "leases"): frozenset({"get", "list", "watch", "create", "update"}),
        **{("metallb.io", r): LW for r in METALLB_CONFIG},
        ("metallb.io", "ipaddresspools/status"): frozenset({"get", "patch"}),
        ("metallb.io", "configurationstates/status"): frozenset({"get", "patch"}),
        ("metallb.io", "configurationstates"): frozenset({"get", "create"}),
    },
    ("ClusterRole", "speaker"): {
        ("", "services"): LW,
        ("", "nodes"): LW,
        ("", "namespaces"): LW,
        ("discovery.k8s.io", "endpointslices"): LW,
        **{("network.deckhouse.io", r): LW for r in DECKHOUSE_CONFIG},
        ("deckhouse.io", "moduleconfigs"): LW,
        ("", "events"): frozenset({"create", "patch"}),
    },
    ("Role", "speaker"): {
        ("", "secrets"): LW,
        ("coordination.k8s.io", "leases"): frozenset(
            {"get", "list", "watch", "create", "update", "delete"}
        ),
        **{("metallb.io", r): LW for r in METALLB_CONFIG},
        **{
            ("metallb.io", r): frozenset(
                {"get", "list", "watch", "create", "update", "patch", "delete"}
            )
            for r in ("servicel2statuses", "servicebgpstatuses")
        },
        **{
            ("metallb.io", f"{r}/status"): frozenset({"get", "update", "patch"})
            for r in ("servicel2statuses", "servicebgpstatuses")
        },
        ("metallb.io", "configurationstates"): frozenset({"get", "create"}),
        ("metallb.io", "configurationstates/status"): frozenset({"get", "patch"}),
    },
}

CONTAINERFILE = ROOT / "Containerfile"
CONTAINERIGNORE = ROOT / ".containerignore"


# --------------------------------------------------------------------------- helpers


def pod_spec(objs: list[Obj], component: str) -> Obj:
    kind = "Deployment" if component == "controller" else "DaemonSet"
    spec: Obj = one(objs, kind, f"{FULLNAME}-{component}")["spec"]["template"]["spec"]
    return spec


def containers(pod: Obj) -> dict[str, Obj]:
    return {c["name"]: c for c in (*pod.get("initContainers", []), *pod["containers"])}


def all_containers(objs: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for component in ("controller", "speaker"):
        for name, c in containers(pod_spec(objs, component)).items():
            yield f"{component}/{name}", c


def expand_env(container: Obj) -> list[str]:
    """The container's args with ``$(VAR)`` replaced as the kubelet does; every reference
    must name a downward-API variable the container defines."""
    env = {e["name"]: e for e in container.get("env", [])}
    for name, entry in env.items():
        assert entry["valueFrom"]["fieldRef"]["fieldPath"] == ENV_FIELDS[name], name

    def sub(m: re.Match[str]) -> str:
        var = m.group(1)
        assert var in env, f"{container['name']}: $({var}) is not in the container's env"
        return ENV_SAMPLE[var]

    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, a) for a in container["args"]]


def parse_mlb(args: list[str]) -> argparse.Namespace:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return build_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"`mlb {' '.join(args)}` is rejected by our parser: {err.getvalue().strip()}")


def settings_document(name: str) -> Obj:
    secret = one(objects(name), "Secret", SETTINGS_SECRET)
    assert secret["type"] == "Opaque"
    assert set(secret["stringData"]) == {"moduleconfig.yaml"}
    assert "data" not in secret
    doc: Obj = yaml.safe_load(secret["stringData"]["moduleconfig.yaml"])
    return doc


def errors(snapshot: ClusterSnapshot) -> list[str]:
    return [str(p) for p in snapshot.problems if p.severity is Severity.ERROR]


def rules_of(role: Obj) -> dict[tuple[str, str], frozenset[str]]:
    out: dict[tuple[str, str], frozenset[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out[(group, resource)] = out.get((group, resource), frozenset()) | frozenset(
                    rule["verbs"]
                )
    return out


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In", expr  # the only operator the chart uses
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


# --------------------------------------------------------------------------- lint, schemas


def test_helm_lint_strict_has_no_errors_or_warnings(value_set: str) -> None:
    report = helm_python.lint(CHART, values_of(value_set), strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


def test_every_object_is_valid_kubernetes(value_set: str) -> None:
    objs = objects(value_set)
    assert objs
    for obj in objs:
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in NOT_BUILT_IN:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1", what
            assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}, what
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{what}: {e.message} at {list(e.path)}")
        if obj["kind"] not in (
            "ClusterRole",
            "ClusterRoleBinding",
            "ValidatingWebhookConfiguration",
        ):
            assert obj["metadata"]["namespace"] == NAMESPACE, what


def test_service_monitor_selects_both_metrics_services() -> None:
    objs = objects("example-bgp")
    monitor = one(objs, "ServiceMonitor")
    spec = monitor["spec"]
    assert monitor["metadata"]["labels"]["prometheus"] == "main"  # serviceMonitor.labels
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert [e["port"] for e in spec["endpoints"]] == ["metrics"]
    services = [o for o in objs if o["kind"] == "Service"]
    selected = sorted(
        s["metadata"]["name"]
        for s in services
        if selects(spec["selector"], s["metadata"]["labels"])
    )
    assert selected == [f"{FULLNAME}-controller-metrics", f"{FULLNAME}-speaker-metrics"]
    for service in services:
        if service["metadata"]["name"] != f"{FULLNAME}-webhook":
            assert [p["name"] for p in service["spec"]["ports"]] == ["metrics"]


def test_no_service_monitor_without_metrics() -> None:
    objs = objects("toggles-off")  # serviceMonitor.enabled but metrics.enabled false
    assert [o for o in objs if o["kind"] in ("ServiceMonitor", "Service")] == []  # webhook off too
    assert (
        "no effect while metrics.enabled is false"
        in rendered_files("toggles-off")["metallb-orchestrator/templates/NOTES.txt"]
    )


def test_values_schema_accepts_every_value_set(value_set: str) -> None:
    chart().validate_schema(values_of(value_set))


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"speaker": {"backend": "bird"}}, "/speaker/backend"),
        ({"adressPools": []}, "adressPools"),
        ({"controller": {"replicas": "two"}}, "/controller/replicas"),
        (
            {"bgpPeers": [{"peer-address": "198.51.100.1", "peer-asn": "64512", "my-asn": 64513}]},
            "/bgpPeers/0/peer-asn",
        ),
    ],
    ids=["unknown-backend", "typo-top-level-key", "string-replicas", "string-peer-asn"],
)
def test_values_schema_rejects(values: Obj, where: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(values)
    assert where in str(caught.value)


# --------------------------------------------------------------------------- policy


def test_containers_are_unprivileged_with_minimal_capabilities(value_set: str) -> None:
    for where, c in all_containers(objects(value_set)):
        sc = c["securityContext"]
        assert sc.get("privileged", False) is False, where
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        caps = sc["capabilities"]
        assert caps["drop"] == ["ALL"], where
        added = set(caps.get("add", []))
        assert added <= CAPS_ALLOWED[c["name"]], f"{where} adds {added - CAPS_ALLOWED[c['name']]}"


def test_only_empty_dir_volumes_and_every_mount_is_backed(value_set: str) -> None:
    objs = objects(value_set)
    for component in ("controller", "speaker"):
        pod = pod_spec(objs, component)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            assert "hostPath" not in v
            if v["name"] == "webhook-tls":  # webhook.tls.secretName: the supplied certificate
                assert v["secret"] == {"secretName": "my-cert"}, v
                continue
            assert set(v) == {"name", "emptyDir"}, f"{component}: volume {v}"
        for name, c in containers(pod).items():
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{component}/{name} mounts {m['name']}"


def test_pod_identity_and_network(value_set: str) -> None:
    objs = objects(value_set)
    controller = pod_spec(objs, "controller")
    assert controller["securityContext"]["runAsNonRoot"] is True
    assert controller["securityContext"]["runAsUser"] == 65534
    assert controller["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not controller.get("hostNetwork", False)
    for c in containers(controller).values():
        assert c["securityContext"].get("runAsUser", 65534) != 0
    speaker = pod_spec(objs, "speaker")
    assert speaker["hostNetwork"] is True
    assert speaker["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert speaker["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_scheduling_follows_the_moduleconfig_meaning() -> None:
    """Top-level nodeSelector/tolerations place the controller, speaker.* the speakers."""
    values = {
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}],
        "speaker": {"nodeSelector": {"lb": "yes"}, "tolerations": [{"operator": "Exists"}]},
    }
    out = chart().render(values, name=RELEASE, namespace=NAMESPACE)
    objs = [d for p, t in out.items() if not p.endswith(".txt") for d in yaml.safe_load_all(t) if d]
    controller, speaker = pod_spec(objs, "controller"), pod_spec(objs, "speaker")
    assert controller["nodeSelector"] == values["nodeSelector"]
    assert controller["tolerations"] == values["tolerations"]
    assert speaker["nodeSelector"] == {"lb": "yes"}
    assert speaker["tolerations"] == [{"operator": "Exists"}]


def test_rbac_has_no_wildcards(value_set: str) -> None:
    for obj in objects(value_set):
        if obj["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in obj["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert not any("*" in item for item in rule.get(field, [])), (obj, rule)
            assert "nonResourceURLs" not in rule
            # resourceNames only narrow a rule: the webhook's own Secret, configuration, CRD
            assert rule.get("resourceNames", [f"{FULLNAME}-webhook"]) in (
                [f"{FULLNAME}-webhook"],
                [f"{FULLNAME}-webhook-cert"],
                ["bgppeers.metallb.io"],
            ), rule


def test_rbac_rules_are_exactly_what_the_code_calls() -> None:
    objs = objects("defaults")
    for (kind, component), expected in RBAC.items():
        role = one(objs, kind, f"{FULLNAME}-{component}")
        assert rules_of(role) == expected, f"{kind} {component}"
        binding = one(objs, f"{kind}Binding", f"{FULLNAME}-{component}")
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": kind,
            "name": f"{FULLNAME}-{component}",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"{FULLNAME}-{component}", "namespace": NAMESPACE}
        ]
        one(objs, "ServiceAccount", f"{FULLNAME}-{component}")
        assert pod_spec(objs, component)["serviceAccountName"] == f"{FULLNAME}-{component}"


def test_rbac_and_service_accounts_can_be_left_to_the_operator() -> None:
    objs = objects("toggles-off")
    kinds = {o["kind"] for o in objs}
    assert not kinds & {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
    assert not kinds & {"ServiceAccount", "PodDisruptionBudget"}
    assert pod_spec(objs, "controller")["serviceAccountName"] == "existing-controller"
    assert pod_spec(objs, "speaker")["serviceAccountName"] == "existing-speaker"
    assert pod_spec(objs, "controller")["imagePullSecrets"] == [{"name": "regcred"}]
    image = containers(pod_spec(objs, "speaker"))["speaker"]
    assert (image["image"], image["imagePullPolicy"]) == ("registry.example/mlb:dev", "Always")


def test_controller_deployment_and_budget() -> None:
    objs = objects("defaults")
    deployment = one(objs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    image = containers(pod_spec(objs, "controller"))["controller"]["image"]
    assert image == f"metallb-orchestrator:{chart().metadata['appVersion']}"


# --------------------------------------------------------------------------- command lines


def test_webhook_args_follow_the_values() -> None:
    generated = parse_mlb(
        expand_env(containers(pod_spec(objects("defaults"), "controller"))["controller"])
    )
    assert generated.webhook_address == ":9443"
    assert generated.webhook_secret == f"{FULLNAME}-webhook-cert"
    assert generated.webhook_configuration == f"{FULLNAME}-webhook"
    assert generated.webhook_service == f"{FULLNAME}-webhook" and generated.webhook_url == ""
    objs = objects("webhook-supplied")
    supplied = parse_mlb(expand_env(containers(pod_spec(objs, "controller"))["controller"]))
    assert supplied.webhook_cert_dir == "/etc/metallb-orchestrator/webhook-tls"
    assert supplied.webhook_secret == "" and supplied.webhook_url == "https://127.0.0.1:9443"
    (vwc,) = [o for o in objs if o["kind"] == "ValidatingWebhookConfiguration"]
    for hook in vwc["webhooks"]:
        assert hook["failurePolicy"] == "Ignore"
        assert hook["clientConfig"]["url"] == "https://127.0.0.1:9443/validate"
        assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert not [o for o in objects("toggles-off") if o["kind"] == "ValidatingWebhookConfiguration"]


def test_controller_args_are_accepted_by_mlb(value_set: str) -> None:
    container = containers(pod_spec(objects(value_set), "controller"))["controller"]
    assert container["command"] == ["mlb"]
    args = parse_mlb(expand_env(container))
    assert args.command == "controller"
    assert args.in_cluster is True and args.kubeconfig is None and args.source is None
    assert args.namespace == NAMESPACE
    assert args.settings_secret == SETTINGS_SECRET
    assert args.leader_id == ENV_SAMPLE["POD_NAME"]
    assert args.no_leader_elect is False


def test_speaker_args_are_accepted_by_mlb(value_set: str) -> None:
    values = values_of(value_set)
    speaker_values = values.get("speaker", {})
    backend = speaker_values.get("backend", "frr")
    container = containers(pod_spec(objects(value_set), "speaker"))["speaker"]
    assert container["command"] == ["mlb"]
    args = parse_mlb(expand_env(container))
    assert args.command == "speaker"
    assert args.node == ENV_SAMPLE["NODE_NAME"]
    assert args.in_cluster is True and args.namespace == NAMESPACE
    assert args.settings_secret == SETTINGS_SECRET
    assert args.backend == backend
    assert args.frr_socket_dir == ("/var/run/frr" if backend == "frr" else None)
    if backend == "gobgp":
        assert args.gobgp_api == GOBGP_API
    assert (args.interface or []) == speaker_values.get("interfaces", [])
    assert args.lease_duration == speaker_values.get("leaseDuration", 2.0)
    assert args.renew_interval == speaker_values.get("renewInterval", 1.0)
    assert args.announcer_priority == speaker_values.get("announcerPriority", "rt")
    assert args.no_l2 is False


def test_sys_nice_only_when_the_announcer_priority_needs_it(value_set: str) -> None:
    priority = values_of(value_set).get("speaker", {}).get("announcerPriority", "rt")
    container = containers(pod_spec(objects(value_set), "speaker"))["speaker"]
    added = container["securityContext"]["capabilities"]["add"]
    assert ("SYS_NICE" in added) == (priority != "none"), added


@pytest.mark.parametrize("value_set", ["defaults", "toggles-off"])
def test_metrics_addresses_follow_metrics_enabled(value_set: str) -> None:
    objs = objects(value_set)
    enabled = values_of(value_set).get("metrics", {}).get("enabled", True)
    for component, port in (("controller", 7472), ("speaker", 7474)):
        container = containers(pod_spec(objs, component))[component]
        args = parse_mlb(expand_env(container))
        host = ENV_SAMPLE["POD_IP"] if enabled else "127.0.0.1"
        assert args.metrics_address == f"{host}:{port}"
        ports = [p for p in container.get("ports", []) if p["name"] == "metrics"]
        assert ports == (
            [{"name": "metrics", "containerPort": port, "protocol": "TCP"}] if enabled else []
        )
        webhook = component == "controller" and value_set == "defaults"
        assert ("readinessProbe" in container) is (enabled or webhook)
        services = [
            o
            for o in objs
            if o["kind"] == "Service" and not o["metadata"]["name"].endswith("webhook")
        ]
        if enabled:
            svc = one(services, "Service", f"{FULLNAME}-{component}-metrics")
            assert svc["spec"]["clusterIP"] == "None"
            assert svc["spec"]["ports"][0]["port"] == port
            assert svc["spec"]["selector"] == pod_spec_labels(objs, component, svc)
        else:
            assert services == []


def pod_spec_labels(objs: list[Obj], component: str, svc: Obj) -> dict[str, str]:
    """The pod labels the Service selector must match (a subset of them)."""
    kind = "Deployment" if component == "controller" else "DaemonSet"
    labels: dict[str, str] = one(objs, kind)["spec"]["template"]["metadata"]["labels"]
    return {k: labels[k] for k in svc["spec"]["selector"]}


@pytest.mark.parametrize(
    ("value_set", "sidecar"),
    [("backend-frr", "frr"), ("backend-gobgp", "gobgpd"), ("backend-none", None)],
)
def test_backend_chooses_the_sidecar(value_set: str, sidecar: str | None) -> None:
    pod = pod_spec(objects(value_set), "speaker")
    expected = {"speaker"} | ({sidecar} if sidecar else set())
    assert set(containers(pod)) == expected
    mounts = {m["mountPath"] for m in containers(pod)["speaker"]["volumeMounts"]}
    assert ("/var/run/frr" in mounts) is (sidecar == "frr")
    assert ("/var/run/gobgp" in mounts) is (sidecar == "gobgpd")
    notes = rendered_files(value_set)["metallb-orchestrator/templates/NOTES.txt"]
    assert f"BGP backend: {values_of(value_set)['speaker']['backend']}" in notes


def test_frr_sidecar_args_are_accepted_by_mlb() -> None:
    pod = pod_spec(objects("backend-frr"), "speaker")
    frr = containers(pod)["frr"]
    assert frr["command"] == ["mlb"]
    assert frr["args"] == ["frr", "run", "--socket-dir", "/var/run/frr"]
    args = parse_mlb(frr["args"])
    assert args.command == "frr"
    # the socket directory is one emptyDir shared with the speaker, as is the config
    # directory (vtysh.conf); every path FRR writes is an emptyDir (read-only root)
    mounts = {m["mountPath"]: m["name"] for m in frr["volumeMounts"]}
    assert set(mounts) == {"/var/run/frr", "/etc/frr", "/var/tmp/frr", "/tmp"}
    assert str(args.socket_dir) in mounts and str(args.config_dir) in mounts
    speaker_mounts = {m["mountPath"]: m for m in containers(pod)["speaker"]["volumeMounts"]}
    assert speaker_mounts[str(args.socket_dir)]["name"] == mounts[str(args.socket_dir)]
    assert speaker_mounts[str(args.config_dir)]["name"] == mounts[str(args.config_dir)]
    assert speaker_mounts[str(args.config_dir)]["readOnly"] is True
    speaker_args = parse_mlb(expand_env(containers(pod)["speaker"]))
    assert speaker_args.frr_socket_dir == str(args.socket_dir)


@pytest.mark.parametrize("value_set", ["backend-frr", "backend-gobgp", "backend-none"])
def test_frr_vty_group_only_with_frr(value_set: str) -> None:
    """FRR's vty sockets are frr:frrvty 0770; the pod joins frrvty by the GID the
    Containerfile fixes, instead of holding CAP_DAC_OVERRIDE."""
    pod = pod_spec(objects(value_set), "speaker")
    groups = pod["securityContext"].get("supplementalGroups")
    if value_set == "backend-frr":
        gid = int(containerfile_args()["FRRVTY_GID"])
        assert groups == [gid] == [chart().values["speaker"]["frrVtyGid"]]
    else:
        assert groups is None


def test_gobgpd_sidecar_runs_gobgpd_command() -> None:
    pod = pod_spec(objects("backend-gobgp"), "speaker")
    gobgpd = containers(pod)["gobgpd"]
    expected = gobgpd_command(GOBGP_API)
    assert gobgpd["args"] == expected[1:]
    # /bin/sh removes a socket left by a killed gobgpd (it will not start while the path
    # exists), then execs the binary with exactly those args
    shell, flag, script, argv0 = gobgpd["command"]
    assert (shell, flag, argv0) == ("/bin/sh", "-c", expected[0])
    socket = GOBGP_API.removeprefix("unix://")
    assert script == f'rm -f {socket} && exec {expected[0]} "$@"'
    mounts = {m["mountPath"]: m["name"] for m in gobgpd["volumeMounts"]}
    speaker_mounts = {m["mountPath"]: m["name"] for m in containers(pod)["speaker"]["volumeMounts"]}
    assert str(Path(socket).parent) in mounts
    assert speaker_mounts["/var/run/gobgp"] == mounts["/var/run/gobgp"]


# --------------------------------------------------------------------------- settings Secret


def test_settings_secret_holds_only_moduleconfig_keys(value_set: str) -> None:
    doc = settings_document(value_set)
    assert doc["apiVersion"] == "deckhouse.io/v1alpha1"
    assert doc["kind"] == "ModuleConfig"
    assert doc["metadata"] == {"name": "metallb"}
    assert doc["spec"]["enabled"] is True
    assert doc["spec"]["version"] == values_of(value_set).get("settingsVersion", 1)
    settings = doc["spec"]["settings"]
    assert set(settings) <= MODULECONFIG_KEYS
    assert set(settings.get("speaker", {})) <= {"nodeSelector", "tolerations"}
    assert all(v not in ({}, [], "", None) for v in settings.values()), settings
    snapshot = parse_snapshot([("Secret/x", doc)])
    assert errors(snapshot) == []


def test_settings_secret_of_the_moduleconfig_example_parses_like_the_example() -> None:
    original = example_documents()
    (mc,) = [d for d in original if d["kind"] == "ModuleConfig"]
    doc = settings_document("moduleconfig-settings")
    assert doc["spec"]["settings"] == mc["spec"]["settings"]
    nodes = [(f"Node/{d['metadata']['name']}", d) for d in original if d["kind"] == "Node"]
    from_chart = parse_snapshot([("Secret/x", doc), *nodes])
    from_example = parse_snapshot([(f"moduleconfig.yaml#{i}", d) for i, d in enumerate(original)])
    assert errors(from_chart) == [] and errors(from_example) == []
    assert [str(p) for p in from_chart.problems] == [str(p) for p in from_example.problems]
    assert from_chart.config == from_example.config
    config = from_chart.config
    assert set(config.pools) == {"public"}
    assert set(config.classes) == set()
    assert [p.name for p in config.bgp_peers] == ["mc-peer-0"]
    assert from_chart.nodes == from_example.nodes


def test_settings_secret_of_the_helm_examples() -> None:
    l2 = parse_snapshot([("Secret/x", settings_document("example-l2"))])
    assert errors(l2) == []
    assert set(l2.config.classes) == {"l2-default"}
    cidrs = {str(c) for c in l2.config.pools["l2-default"].cidrs}
    assert "2001:db8:0:10::/120" in cidrs and "192.0.2.100/30" in cidrs
    assert dict(l2.config.speaker_node_selector) == {"node-role.deckhouse.io/metallb": ""}

    bgp = parse_snapshot([("Secret/x", settings_document("example-bgp"))])
    assert errors(bgp) == []
    assert set(bgp.config.pools) == {"public", "reserved"}
    assert [str(p.peer_address) for p in bgp.config.bgp_peers] == ["198.51.100.1", "198.51.100.2"]
    assert bgp.config.pools["reserved"].auto_assign is False


def test_settings_version_3_renders_and_parses() -> None:
    doc = settings_document("settings-v3")
    assert doc["spec"]["version"] == 3
    snapshot = parse_snapshot([("Secret/x", doc)])
    assert [str(p) for p in snapshot.problems] == []
    assert snapshot.config.load_balancer_class == "lb.example.com/bgp"


def test_settings_secret_with_defaults_is_an_empty_version_1_config() -> None:
    assert settings_document("defaults")["spec"] == {"enabled": True, "settings": {}, "version": 1}
    assert settings_document("toggles-off")["spec"]["version"] == 2


def test_settings_secret_carries_the_bgp_password_and_no_configmap_does() -> None:
    values = {
        "bgpPeers": [
            {
                "peer-address": "198.51.100.1",
                "peer-asn": 64512,
                "my-asn": 64513,
                "password": "example-md5-key",
            }
        ]
    }
    out = chart().render(values, name=RELEASE, namespace=NAMESPACE)
    objs = [d for p, t in out.items() if not p.endswith(".txt") for d in yaml.safe_load_all(t) if d]
    assert [o for o in objs if o["kind"] == "ConfigMap"] == []
    secret = one(objs, "Secret", SETTINGS_SECRET)
    doc = yaml.safe_load(secret["stringData"]["moduleconfig.yaml"])
    (peer,) = parse_snapshot([("Secret/x", doc)]).config.bgp_peers
    assert peer.password is not None and peer.password.reveal() == "example-md5-key"
    leaked = [o["kind"] for o in objs if o is not secret and "example-md5-key" in yaml.safe_dump(o)]
    assert leaked == []


# --------------------------------------------------------------------------- Containerfile


def containerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per logical line; comment lines are dropped, also inside a
    continuation, as the Dockerfile parser does."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in CONTAINERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, rest = buf.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        buf = ""
    assert buf == "", "Containerfile ends inside a continuation"
    return out


def containerfile_args() -> dict[str, str]:
    """ARG defaults (the last one wins, as in a build)."""
    return dict(
        rest.split("=", 1) for k, rest in containerfile_instructions() if k == "ARG" and "=" in rest
    )


def runtime_stage() -> list[tuple[str, str]]:
    inst = containerfile_instructions()
    last_from = max(i for i, (k, _) in enumerate(inst) if k == "FROM")
    return inst[last_from:]


def test_containerfile_copy_sources_exist_and_are_not_ignored() -> None:
    ignored = [
        ln.strip().rstrip("/")
        for ln in CONTAINERIGNORE.read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    sources: list[str] = []
    for keyword, rest in containerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        tokens = rest.split()
        if any(t.startswith("--from") for t in tokens):
            continue
        sources += [t for t in tokens[:-1] if not t.startswith("--")]
    assert {"pyproject.toml", "hatch_build.py", "orchestrator/", "gobgp/", "templates/"} <= set(
        sources
    )
    for src in sources:
        path = src.rstrip("/")
        assert (ROOT / path).exists(), f"COPY {src}: not in the repository"
        assert not any(fnmatch.fnmatch(path, pat) for pat in ignored), f"COPY {src} is ignored"


def test_containerfile_is_bookworm_slim_multi_stage_with_labels() -> None:
    inst = containerfile_instructions()
    froms = [rest for k, rest in inst if k == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS build")
    assert containerfile_args()["BASE_IMAGE"].endswith("debian:bookworm-slim")
    assert all(f.startswith("${BASE_IMAGE}") for f in froms)
    build_runs = " ".join(rest for k, rest in inst[: inst.index(("FROM", froms[1]))] if k == "RUN")
    assert "pip wheel" in build_runs
    labels = " ".join(rest for k, rest in runtime_stage() if k == "LABEL")
    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert not [rest for k, rest in runtime_stage() if k == "USER"]


def test_containerfile_runtime_installs_what_the_pods_run() -> None:
    runs = " ".join(rest for k, rest in runtime_stage() if k == "RUN")
    (install,) = re.findall(r"apt-get install ([^&;]*)", runs)
    packages = {t for t in install.split() if not t.startswith("-")}
    assert {"frr", "gobgpd", "iproute2", "python3", "python3-venv"} <= packages
    assert 'groupadd --system --gid "${FRRVTY_GID}" frrvty' in runs
    assert "ln -s /opt/mlb/bin/mlb /usr/local/bin/mlb" in runs
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "mlb" in scripts

    # every program the chart starts, for every backend
    programs: set[str] = set()
    for value_set in ("backend-frr", "backend-gobgp", "backend-none"):
        for _, c in all_containers(objects(value_set)):
            command = c["command"]
            programs.add(command[-1] if command[:2] == ["/bin/sh", "-c"] else command[0])
    assert programs == {"mlb", "gobgpd"}

    gobgpd_files = dpkg_files("gobgpd")
    assert shutil.which("gobgpd") is not None and "/usr/bin/gobgpd" in gobgpd_files
    frr_files = dpkg_files("frr")
    assert Path("/usr/lib/frr") == FRR_BIN
    for daemon in DEFAULT_DAEMONS:
        assert str(FRR_BIN / daemon) in frr_files, daemon
    assert "/usr/bin/vtysh" in frr_files
    grp.getgrnam("frrvty")  # FRR's vty group, which the Containerfile pins


def dpkg_files(package: str) -> set[str]:
    """Files of an installed Debian package (the image's base is Debian too)."""
    require(shutil.which("dpkg-query") is not None, "dpkg-query (a Debian system)")
    proc = subprocess.run(
        ["dpkg-query", "-L", package], capture_output=True, text=True, check=False, timeout=30
    )
    require(proc.returncode == 0, f"Debian package {package} (apt install {package})")
    return set(proc.stdout.split())


# --------------------------------------------------------------------------- docs


def value_keys(values: Obj, prefix: str = "") -> list[str]:
    """Dotted paths of every default value (a non-empty mapping is descended into)."""
    out: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += value_keys(value, f"{path}.")
        else:
            out.append(path)
    return out


def test_docs_helm_lists_every_value() -> None:
    text = (ROOT / "docs" / "helm.md").read_text()
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    keys = value_keys(defaults)
    assert "speaker.backend" in keys and "serviceAccounts.speaker.name" in keys
    missing = [k for k in keys if f"| `{k}` |" not in text]
    assert missing == [], f"values not in the table of docs/helm.md: {missing}"
