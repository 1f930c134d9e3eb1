"""The one logging channel (orchestrator.log): our lines and standard ``logging`` records
come out in the same key=value format, behind one threshold.

Matrix: fixed leading keys (ts, level, component, event) and quoting; the threshold drops
lower levels for both kinds of line; a stdlib record already in ``event=`` form is kept, any
other becomes ``event=log msg=...``; an exception adds its type; the level is exported to
child processes; an unknown level is refused.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator

import pytest

from orchestrator import log

LINE = re.compile(r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(\w+) component=(\S+) (.*)$")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    before = os.environ.get(log.ENV)
    out = io.StringIO()
    log.configure("info", stream=out)
    yield out
    log.configure("info")
    if before is None:
        os.environ.pop(log.ENV, None)
    else:
        os.environ[log.ENV] = before


def lines(out: io.StringIO) -> list[tuple[str, str, str]]:
    found = []
    for text in out.getvalue().splitlines():
        m = LINE.match(text)
        assert m is not None, f"not one of our lines: {text!r}"
        found.append((m.group(1), m.group(2), m.group(3)))
    return found


def test_our_lines_carry_the_fixed_keys_and_quote_values(stream: io.StringIO) -> None:
    log.Logger("routing")("bgpApplyFailed", level="error", backend="frr", msg='a "b" c', x=None)
    assert lines(stream) == [
        ("error", "routing", 'event=bgpApplyFailed backend=frr msg="a \\"b\\" c"'),
    ]


def test_control_characters_in_values_are_escaped(stream: io.StringIO) -> None:
    """An object name with a newline, a carriage return or a terminal escape stays on one
    line (it could forge a line of its own)."""
    name = "demo/a\nts=x level=error\r\x1b[2J"
    log.Logger("controller")("configProblem", level="warning", service=name)
    assert lines(stream) == [
        (
            "warning",
            "controller",
            'event=configProblem service="demo/a\\nts=x level=error\\r\\x1b[2J"',
        ),
    ]


def test_stdlib_records_join_the_channel(stream: io.StringIO) -> None:
    logging.getLogger("orchestrator.l2.ports").info("event=linkUp iface=eth0 mac=02:00")
    logging.getLogger("grpc").warning("channel %s broke", "x")
    try:
        raise OSError("no such device")
    except OSError:
        logging.getLogger("orchestrator.l2.announcer").exception("event=announcerFailed")
    assert lines(stream) == [
        ("info", "l2.ports", "event=linkUp iface=eth0 mac=02:00"),
        ("warning", "grpc", 'event=log msg="channel x broke"'),
        (
            "error",
            "l2.announcer",
            'event=announcerFailed reason=OSError error="no such device"',
        ),
    ]


def test_threshold_applies_to_both_kinds_and_is_exported(stream: io.StringIO) -> None:
    log.configure("warning", stream=stream)
    assert os.environ[log.ENV] == "warning"
    log.Logger("speaker/n1")("started")
    logging.getLogger("orchestrator.l2.mcast").info("event=allmulti iface=eth0")
    log.Logger("speaker/n1")("leaseRenewFailed", level="warning")
    logging.getLogger("orchestrator.l2.mcast").warning("event=multicastJoinFailed")
    assert [(level, event.split()[0]) for level, _, event in lines(stream)] == [
        ("warning", "event=leaseRenewFailed"),
        ("warning", "event=multicastJoinFailed"),
    ]
    log.configure(None, stream=stream)  # None: the exported level
    assert not log.enabled("info") and log.enabled("error")


def test_unknown_level_is_refused(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match="log level must be one of debug, info"):
        log.configure("verbose")
