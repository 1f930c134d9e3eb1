"""``BFDProfile`` (metallb.io/v1beta1): ranges from the CRD, defaults from its documentation.

Intervals are milliseconds. ``minimumTtl`` only matters for multi-hop sessions and stays
None when unset (the daemon's default). Profile names go into FRR's ``bfd`` block, so they
are held to the short-name pattern (see ``documents.KINDS``).
"""

from __future__ import annotations

from orchestrator.core.model.cluster import BFDProfile
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item
from orchestrator.core.parse.fields import Fields

INTERVAL = (10, 60000)


def parse_bfd_profile(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(
        (
            "receiveInterval",
            "transmitInterval",
            "detectMultiplier",
            "echoInterval",
            "echoMode",
            "passiveMode",
            "minimumTtl",
        )
    )
    lo, hi = INTERVAL
    defaults = BFDProfile(name=doc.name)

    def interval(key: str, default: int) -> int:
        value = spec.number(key, lo=lo, hi=hi)
        return default if value is None else value

    multiplier = spec.number("detectMultiplier", lo=2, hi=255)
    profile = BFDProfile(
        name=doc.name,
        receive_interval=interval("receiveInterval", defaults.receive_interval),
        transmit_interval=interval("transmitInterval", defaults.transmit_interval),
        detect_multiplier=defaults.detect_multiplier if multiplier is None else multiplier,
        echo_interval=interval("echoInterval", defaults.echo_interval),
        echo_mode=spec.flag("echoMode"),
        passive_mode=spec.flag("passiveMode"),
        minimum_ttl=spec.number("minimumTtl", lo=1, hi=254),
    )
    draft.bfd_profiles.append(Item(profile, spec.errs, doc.source, doc.ref))
