"""What a Service asks for, read from its annotations in every spelling we honour.

Each request field has an ordered list of annotation spellings; the first one present
wins, and a later spelling with a different value gets a warning (it is ignored):

=============  ===========================================================================
pool           network.deckhouse.io/load-balancer-pool, metallb.io/address-pool,
               metallb.universe.tf/address-pool
ips            network.deckhouse.io/load-balancer-ips, .../l2-load-balancer-ips,
               metallb.io/loadBalancerIPs, metallb.universe.tf/loadBalancerIPs, then
               spec.loadBalancerIP
sharing key    network.deckhouse.io/load-balancer-shared-ip-key, .../load-balancer-allow-
               shared-ip, .../lb-allow-shared-ip, network.deckhouse.io/allow-shared-ip,
               metallb.io/allow-shared-ip, metallb.universe.tf/allow-shared-ip
ips count      network.deckhouse.io/l2-load-balancer-external-ips-count
class          network.deckhouse.io/metal-load-balancer-class, then
               network.deckhouse.io/l2-load-balancer-name (an L2LoadBalancer)
=============  ===========================================================================

IP lists are comma-separated with spaces trimmed. MetalLB's annotation allows at most two
IPs of different families (one dual-stack pair); the Deckhouse annotation may list N IPs for
an N-IP L2 Service (the i-th IP for the i-th home node). ``spec.loadBalancerIP`` together
with an IPs annotation is an error, as in MetalLB. An IP count that is not a whole number
from 1 to 65,536 (``"-3"``, ``"abc"``, ``"0"``, ``"1000000"``) is an error on the Service,
so it keeps its current IPs untouched until it is fixed. Deckhouse reads such values as 1,
which released all but one of a Service's IPs at once, and setting the count back then
handed out *new* IPs: one typo moved IPs for good. The upper bound bounds the memory one
Service can make the allocator use (an IPv6 class pool has far more addresses than anyone
wants IPs); the limit a user meets is the size of the class pool.

Every ``metallb.universe.tf/*`` annotation draws a ``deprecatedAnnotation`` warning naming
its replacement (MetalLB raises the same-named event), and so do the spellings of Deckhouse's
older ``381-l2-load-balancer`` module (``DEPRECATED_DECKHOUSE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestrator.core.model.addresses import AddressError, parse_ip
from orchestrator.core.model.cluster import Annotation, IPAddress, ServiceRequest
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.parse.names import check_name

MAX_IPS_COUNT = 65_536
DEPRECATED_PREFIX = "metallb.universe.tf/"

POOL_KEYS = (Annotation.DH_POOL, Annotation.ML_POOL, Annotation.MU_POOL)
IPS_KEYS = (Annotation.DH_IPS, Annotation.DH_IPS_OLD, Annotation.ML_IPS, Annotation.MU_IPS)
#: Annotations that may list N IPs (one per L2 IP of the Service), not one dual-stack pair.
DECKHOUSE_IPS = (Annotation.DH_IPS, Annotation.DH_IPS_OLD)
SHARED_KEYS = (
    Annotation.DH_SHARED_KEY,
    Annotation.DH_SHARED_KEY_OLD,
    Annotation.DH_SHARED_KEY_LB,
    Annotation.DH_SHARED_KEY_L2,
    Annotation.ML_SHARED,
    Annotation.MU_SHARED,
)


CLASS_KEYS = (Annotation.DH_CLASS, Annotation.DH_L2LB_NAME)
#: Older Deckhouse spellings and what replaces each.
DEPRECATED_DECKHOUSE: dict[str, str] = {
    Annotation.DH_IPS_OLD: Annotation.DH_IPS,
    Annotation.DH_SHARED_KEY_OLD: Annotation.DH_SHARED_KEY,
    Annotation.DH_SHARED_KEY_LB: Annotation.DH_SHARED_KEY,
    Annotation.DH_L2LB_NAME: Annotation.DH_CLASS,
}


def annotation_path(key: str) -> str:
    return f'metadata.annotations["{key}"]'


def first_of(
    errs: Errors, annotations: Mapping[str, str], keys: Sequence[str]
) -> tuple[str, str] | None:
    """The first spelling that is set (non-empty), warning about conflicting later ones."""
    found: tuple[str, str] | None = None
    for key in keys:
        value = annotations.get(key, "").strip()
        if not value:
            continue
        if found is None:
            found = (key, value)
        elif value != found[1]:
            errs.warn(annotation_path(key), f"ignored: {found[0]} is set and takes precedence")
    return found


def deprecated(errs: Errors, annotations: Mapping[str, str]) -> None:
    for key in sorted(annotations):
        if key.startswith(DEPRECATED_PREFIX):
            replacement = "metallb.io/" + key.removeprefix(DEPRECATED_PREFIX)
            errs.warn(annotation_path(key), f"deprecatedAnnotation: use {replacement} instead")
        elif key in DEPRECATED_DECKHOUSE:
            errs.warn(
                annotation_path(key),
                f"deprecatedAnnotation: use {DEPRECATED_DECKHOUSE[key]} instead",
            )


def _ips(errs: Errors, key: str, text: str) -> tuple[IPAddress, ...]:
    path = annotation_path(key)
    out: list[IPAddress] = []
    for part in text.split(","):
        part = part.strip()
        try:
            ip = parse_ip(part)
        except AddressError as e:
            errs.add(path, str(e) if part else "has an empty entry")
            continue
        if ip in out:
            errs.add(path, f"lists {ip} twice")
            continue
        out.append(ip)
    if key not in DECKHOUSE_IPS and len(out) > 1:
        if len(out) > 2:
            errs.add(path, "at most 2 IPs (one IPv4 and one IPv6) are allowed")
        elif out[0].version == out[1].version:
            errs.add(path, "two IPs must be of different families (one IPv4, one IPv6)")
    return tuple(out)


def _count(errs: Errors, annotations: Mapping[str, str]) -> int:
    key = Annotation.DH_IPS_COUNT
    if key not in annotations:
        return 1
    text = annotations[key].strip()
    keeps = "; the Service keeps its current IPs until this is fixed"
    try:
        count = int(text)
    except ValueError:
        errs.add(annotation_path(key), f"{quote(text)} is not a whole number{keeps}")
        return 1
    if count < 1:
        errs.add(annotation_path(key), f"{count} is less than 1{keeps}")
        return 1
    if count > MAX_IPS_COUNT:
        errs.add(annotation_path(key), f"{count} is more than {MAX_IPS_COUNT}{keeps}")
        return MAX_IPS_COUNT
    return count


def parse_request(
    errs: Errors, annotations: Mapping[str, str], load_balancer_ip: str | None
) -> ServiceRequest:
    """The request of a LoadBalancer Service (``spec.loadBalancerIP`` passed in)."""
    deprecated(errs, annotations)
    pool = first_of(errs, annotations, POOL_KEYS)
    pool_name = None
    if pool is not None and check_name(errs, annotation_path(pool[0]), pool[1]):
        pool_name = pool[1]
    ips: tuple[IPAddress, ...] = ()
    ips_set = first_of(errs, annotations, IPS_KEYS)
    if ips_set is not None:
        ips = _ips(errs, *ips_set)
        if load_balancer_ip:
            errs.add(
                "spec.loadBalancerIP", f"must not be set together with annotation {ips_set[0]}"
            )
    elif load_balancer_ip:
        try:
            ips = (parse_ip(load_balancer_ip.strip()),)
        except AddressError as e:
            errs.add("spec.loadBalancerIP", str(e))
    shared = first_of(errs, annotations, SHARED_KEYS)
    cls = first_of(errs, annotations, CLASS_KEYS)
    cls_name = None
    if cls is not None and check_name(errs, annotation_path(cls[0]), cls[1]):
        cls_name = cls[1]
    return ServiceRequest(
        pool=pool_name,
        ips=ips,
        sharing_key=shared[1] if shared else None,
        ips_count=_count(errs, annotations),
        class_annotation=cls_name,
    )
