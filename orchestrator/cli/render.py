"""``mlb render frr --node NODE DIR``: the complete frr.conf a node's speaker would run.

The output is deterministic and loads into FRR as it is (``vtysh -b`` with it as
frr.conf, or ``bgpd -f``). It includes BGP passwords, because a config without them does
not establish the sessions it describes and this goes to the operator's own terminal;
``--redact`` prints ``<redacted>`` instead, for pasting into tickets. Comments at the top
say which Service IPs the node does not announce and why, and which configuration
problems were found.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from frr.errors import ConversionError
from frr.render import render_for_node
from orchestrator.cli._load import load_valid
from orchestrator.core.plan import plan


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "render", help="render a routing daemon's configuration for one node"
    )
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")
    frr = targets.add_parser("frr", help="complete frr.conf for one node (loadable by FRR)")
    frr.add_argument("--node", required=True, help="node name (a Node manifest in DIR)")
    frr.add_argument("--redact", action="store_true", help="print <redacted> for passwords")
    frr.add_argument("directory", help="directory of *.yaml manifests (multi-document)")
    frr.set_defaults(func=run_frr)


def run_frr(args: argparse.Namespace) -> int:
    snapshot = load_valid(args.directory, command="render frr")
    if isinstance(snapshot, int):
        return snapshot
    assignments = list(plan(snapshot).allocation.assignments().values())
    try:
        text = render_for_node(snapshot, assignments, args.node, reveal_passwords=not args.redact)
    except ConversionError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0
