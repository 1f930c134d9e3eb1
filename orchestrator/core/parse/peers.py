"""``BGPPeer`` (metallb.io v1beta2, v1beta1 accepted) and the timer rules shared with ModuleConfig.

Rules, from MetalLB's ``peerFromCR``/``parseTimers`` and the CRD schema:

* ``myASN`` is required and not 0; exactly one of ``peerASN`` / ``dynamicASN``; exactly one
  of ``peerAddress`` / ``interface`` (unnumbered BGP);
* ``peerPort`` 1..16384, default 179;
* ``holdTime`` 0 or at least 3s; with only a hold time, keepalive = hold/3; with only a
  keepalive, hold = 3 x keepalive; keepalive must not exceed hold. Both unset: hold 90s,
  keepalive 30s, MetalLB v0.14.8's default in every mode (the version Deckhouse ships; FRR's
  own default would be 180s). FRR takes whole seconds up to 65535;
* ``connectTime`` whole seconds, 1..65535;
* ``password`` and ``passwordSecret`` are mutually exclusive; the Secret is resolved now.
  Either way the password is checked against the strict password pattern and its text
  never reaches a message;
* ``ebgpMultiHop`` makes no sense for iBGP (myASN == peerASN, or dynamicASN internal);
* ``bfdProfile`` must name a BFDProfile: checked in ``crosscheck`` once all are parsed.

v1beta1's ``nodeSelectors`` had ``matchLabels`` / ``matchExpressions`` like a LabelSelector,
so one reader serves both versions.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from orchestrator.core.model.addresses import AddressError, parse_ip
from orchestrator.core.model.cluster import BGPPeer, DynamicASN, IPAddress, Secret
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item
from orchestrator.core.parse.durations import DurationError, format_seconds, parse_duration
from orchestrator.core.parse.fields import Fields
from orchestrator.core.parse.labels import selector_list
from orchestrator.core.parse.names import SHORT_NAME, check_interface, check_name, check_password
from orchestrator.core.parse.secrets import SecretError

ASN_MAX = 2**32 - 1
PORT_MAX = 16384
TIMER_MAX = 65535.0
#: MetalLB v0.14.8 (what Deckhouse runs) sets this hold time on every session by default.
DEFAULT_HOLD_TIME = 90.0

_FIELDS = (
    "myASN",
    "peerASN",
    "dynamicASN",
    "localASN",
    "peerAddress",
    "interface",
    "sourceAddress",
    "peerPort",
    "holdTime",
    "keepaliveTime",
    "connectTime",
    "routerID",
    "nodeSelectors",
    "password",
    "passwordSecret",
    "bfdProfile",
    "enableGracefulRestart",
    "ebgpMultiHop",
    "vrf",
    "disableMP",
    "dualStackAddressFamily",
)


def ip_field(spec: Fields, key: str) -> IPAddress | None:
    text = spec.text(key)
    if text is None:
        return None
    try:
        return parse_ip(text)
    except AddressError as e:
        spec.errs.add(spec.at(key), str(e))
        return None


def duration_field(spec: Fields, key: str) -> float | None:
    text = spec.text(key)
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except DurationError as e:
        spec.errs.add(spec.at(key), str(e))
        return None
    if seconds < 0:
        spec.errs.add(spec.at(key), "must not be negative")
        return None
    return seconds


def timers(
    errs: Errors,
    hold: tuple[str, float | None],
    keepalive: tuple[str, float | None],
) -> tuple[float | None, float | None]:
    """Apply MetalLB's hold/keepalive rules; each argument is (path, seconds or None)."""
    (hold_path, hold_s), (keep_path, keep_s) = hold, keepalive
    if hold_s is None and keep_s is None:
        return DEFAULT_HOLD_TIME, DEFAULT_HOLD_TIME / 3
    if hold_s is None:
        assert keep_s is not None
        hold_s, hold_path = 3 * keep_s, keep_path  # derived: blame the field that was set
    elif keep_s is None:
        keep_s = hold_s / 3
    before = errs.count
    if 0 < hold_s < 3:
        errs.add(hold_path, f"hold time {format_seconds(hold_s)} must be 0 or at least 3s")
    elif hold_s > TIMER_MAX:
        errs.add(hold_path, f"hold time {format_seconds(hold_s)} is longer than 65535s")
    if keep_s > hold_s:
        errs.add(
            keep_path,
            f"keepalive time {format_seconds(keep_s)} is longer than the hold time "
            f"{format_seconds(hold_s)}",
        )
    if errs.count > before:
        return None, None
    return hold_s, keep_s


def check_password_text(errs: Errors, path: str, value: str) -> Secret | None:
    return Secret(value) if check_password(errs, path, value) else None


def parse_bgp_peer(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(_FIELDS)
    errs = spec.errs
    my_asn = spec.number("myASN", lo=0, hi=ASN_MAX, required=True)
    if my_asn == 0:
        errs.add(spec.at("myASN"), "must not be 0")
    peer_asn = spec.number("peerASN", lo=0, hi=ASN_MAX) or None
    dynamic: DynamicASN | None = None
    if (text := spec.text("dynamicASN")) is not None:
        try:
            dynamic = DynamicASN(text)
        except ValueError:
            errs.add(spec.at("dynamicASN"), f"{quote(text)} is not internal or external")
    if (spec.get("peerASN") not in (None, 0)) == spec.has("dynamicASN"):
        errs.add(spec.at("peerASN"), "exactly one of peerASN and dynamicASN must be set")

    address = ip_field(spec, "peerAddress")
    interface = spec.text("interface")
    if interface is not None and not check_interface(errs, spec.at("interface"), interface):
        interface = None
    if spec.has("peerAddress") == spec.has("interface"):
        errs.add(spec.at("peerAddress"), "exactly one of peerAddress and interface must be set")

    router_id = router_id_field(spec, "routerID")
    hold, keepalive = timers(
        errs,
        (spec.at("holdTime"), duration_field(spec, "holdTime")),
        (spec.at("keepaliveTime"), duration_field(spec, "keepaliveTime")),
    )
    connect = duration_field(spec, "connectTime")
    if connect is not None and (connect != int(connect) or not 1 <= connect <= TIMER_MAX):
        errs.add(spec.at("connectTime"), "must be whole seconds between 1s and 65535s")
        connect = None

    password = _password(doc, spec, draft)
    bfd = spec.text("bfdProfile")
    if bfd is not None and not check_name(errs, spec.at("bfdProfile"), bfd, limit=SHORT_NAME):
        bfd = None
    vrf = spec.text("vrf")
    if vrf is not None and not check_interface(errs, spec.at("vrf"), vrf):
        vrf = None
    multihop = spec.flag("ebgpMultiHop")
    ibgp = (peer_asn is not None and peer_asn == my_asn) or dynamic is DynamicASN.INTERNAL
    if multihop and ibgp:
        errs.add(spec.at("ebgpMultiHop"), "is not allowed for iBGP (myASN equals peerASN)")
    if spec.flag("disableMP"):
        errs.warn(spec.at("disableMP"), "is deprecated and ignored; see dualStackAddressFamily")

    peer = BGPPeer(
        name=doc.name,
        my_asn=my_asn or 0,
        peer_asn=peer_asn,
        dynamic_asn=dynamic,
        peer_address=address,
        interface=interface,
        source_address=ip_field(spec, "sourceAddress"),
        peer_port=spec.number("peerPort", lo=1, hi=PORT_MAX) or 179,
        hold_time=hold,
        keepalive_time=keepalive,
        connect_time=int(connect) if connect is not None else None,
        router_id=router_id,
        node_selectors=selector_list(spec, "nodeSelectors"),
        password=password,
        bfd_profile=bfd,
        graceful_restart=spec.flag("enableGracefulRestart"),
        ebgp_multihop=multihop,
        vrf=vrf,
        dual_stack=spec.flag("dualStackAddressFamily"),
        local_asn=spec.number("localASN", lo=1, hi=ASN_MAX),
    )
    draft.peers.append(Item(peer, errs, doc.source, doc.ref))


def router_id_field(spec: Fields, key: str) -> IPv4Address | None:
    rid = ip_field(spec, key)
    if rid is not None and not isinstance(rid, IPv4Address):
        spec.errs.add(spec.at(key), f"{rid} is not an IPv4 address")
        return None
    return rid


def _password(doc: Doc, spec: Fields, draft: Draft) -> Secret | None:
    inline = spec.text("password")
    ref = spec.obj("passwordSecret")
    if inline is not None and ref is not None:
        spec.errs.add(spec.at("password"), "password and passwordSecret are mutually exclusive")
        return None
    if inline is not None:
        return check_password_text(spec.errs, spec.at("password"), inline)
    if ref is None:
        return None
    ref.only(("name", "namespace"))
    name = ref.text("name", required=True)
    namespace = ref.text("namespace") or doc.namespace
    if name is None:
        return None
    try:
        text = draft.secrets.password(namespace, name)
    except SecretError as e:
        spec.errs.add(ref.base, str(e))
        return None
    return check_password_text(spec.errs, ref.base, text)
