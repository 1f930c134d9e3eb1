"""Why a node does not announce a Service IP over BGP, and what is wrong in the BGP config.

``BGPReason`` speaks MetalLB's vocabulary where it has one (``notOwner``, ``noLocalEndpoints``)
and maps every node and endpoint check of ``eligibility`` onto it (``FROM_ELIGIBILITY``), so
``mlb`` explains a BGP "no" and an L2 "no" with the same words. ``Problem`` is a config
problem met while computing intent (conflicting ASNs, an unknown BFD profile...): reported,
never fatal, because an invalid object never withdraws an IP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from orchestrator.core import eligibility


class BGPReason(StrEnum):
    """Why a node does not announce one Service IP (MetalLB's vocabulary where it exists)."""

    UNKNOWN_SERVICE = "unknownService"
    UNKNOWN_POOL = "unknownPool"
    NO_MATCHING_ADVERTISEMENT = "noMatchingAdvertisement"
    UNKNOWN_NODE = "unknownNode"
    NOT_OWNER = "notOwner"
    EXCLUDED = "nodeLabeledExcludeBalancers"
    NETWORK_UNAVAILABLE = "nodeNetworkUnavailable"
    NOT_LIVE = "speakerNotLive"
    NO_ENDPOINTS = "noEndpoints"
    NO_LOCAL_ENDPOINTS = "noLocalEndpoints"
    NO_MATCHING_PEER = "noMatchingPeer"


EXPLAIN: dict[BGPReason, str] = {
    BGPReason.UNKNOWN_SERVICE: "the assignment names a Service that is not in the snapshot",
    BGPReason.UNKNOWN_POOL: "the assignment names a pool that is not in the snapshot",
    BGPReason.NO_MATCHING_ADVERTISEMENT: "no BGPAdvertisement selects this pool and Service",
    BGPReason.UNKNOWN_NODE: "no Node object with this name",
    BGPReason.NOT_OWNER: "no BGPAdvertisement of this pool selects this node",
    BGPReason.EXCLUDED: eligibility.EXPLAIN[eligibility.Reason.EXCLUDED],
    BGPReason.NETWORK_UNAVAILABLE: eligibility.EXPLAIN[eligibility.Reason.NETWORK_UNAVAILABLE],
    BGPReason.NOT_LIVE: eligibility.EXPLAIN[eligibility.Reason.NOT_LIVE],
    BGPReason.NO_ENDPOINTS: eligibility.EXPLAIN[eligibility.Reason.NO_ENDPOINTS],
    BGPReason.NO_LOCAL_ENDPOINTS: eligibility.EXPLAIN[eligibility.Reason.NO_LOCAL_ENDPOINTS],
    BGPReason.NO_MATCHING_PEER: (
        "none of this node's BGP peers of the IP's family is allowed by the advertisements"
    ),
}

FROM_ELIGIBILITY: dict[eligibility.Reason, BGPReason] = {
    eligibility.Reason.UNKNOWN_NODE: BGPReason.UNKNOWN_NODE,
    eligibility.Reason.NODE_SELECTOR: BGPReason.NOT_OWNER,
    eligibility.Reason.EXCLUDED: BGPReason.EXCLUDED,
    eligibility.Reason.NETWORK_UNAVAILABLE: BGPReason.NETWORK_UNAVAILABLE,
    eligibility.Reason.NOT_LIVE: BGPReason.NOT_LIVE,
    eligibility.Reason.NO_ENDPOINTS: BGPReason.NO_ENDPOINTS,
    eligibility.Reason.NO_LOCAL_ENDPOINTS: BGPReason.NO_LOCAL_ENDPOINTS,
}


class ProblemReason(StrEnum):
    """Configuration problems found while computing intent (reported, never fatal)."""

    ASN_CONFLICT = "myASNConflict"
    ROUTER_ID_CONFLICT = "routerIDConflict"
    DUPLICATE_PEER = "duplicatePeerAddress"
    UNKNOWN_BFD_PROFILE = "unknownBFDProfile"
    UNSUPPORTED_VRF = "unsupportedVRF"
    CONFLICTING_ADVERTISEMENTS = "conflictingAdvertisements"


@dataclass(frozen=True, order=True)
class Problem:
    reason: ProblemReason
    obj: str  # "BGPPeer/r1", "BGPAdvertisement/a"
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.reason.value}: {self.message}"
