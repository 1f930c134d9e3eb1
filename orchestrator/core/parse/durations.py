"""Go duration strings (``metav1.Duration``): ``90s``, ``1m30s``, ``500ms``, ``1.5h``.

MetalLB's BGPPeer timers are ``metav1.Duration``, serialized with Go's
``time.Duration.String`` and parsed with ``time.ParseDuration``. We accept the same grammar:
an optional sign, then one or more ``<decimal><unit>`` terms with units ``ns``, ``us``
(``µs``), ``ms``, ``s``, ``m``, ``h``; the bare string ``0`` is also allowed. The value is
returned in seconds as a float, which is what the model stores.

The Deckhouse ModuleConfig ``hold-time`` may also be a plain integer number of seconds;
``seconds_of`` accepts both forms.
"""

from __future__ import annotations

import re

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_TERM = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string. Raises ``DurationError``."""
    body = text
    sign = 1.0
    if body and body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise DurationError(f"{text!r} is not a duration")
    total = 0.0
    pos = 0
    while pos < len(body):
        m = _TERM.match(body, pos)
        if m is None:
            raise DurationError(
                f"{text!r} is not a duration (use a number and a unit: 90s, 1m30s, 500ms)"
            )
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def seconds_of(value: object) -> float:
    """A duration string, or a non-negative integer number of seconds (ModuleConfig)."""
    if isinstance(value, bool):
        raise DurationError("must be a duration such as 90s, not a boolean")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        return parse_duration(value)
    raise DurationError("must be a duration such as 90s")


def format_seconds(seconds: float) -> str:
    """Short human form for messages: ``3s``, ``0.5s``."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:g}s"
