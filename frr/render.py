"""Render a node's complete frr.conf from the view model with jinja2.

Used at boot by ``mlb render frr``, and by the golden tests; the running speaker applies
diffs instead (``frr.diff``), but both start from the same view, and ``parse_running`` of
the rendered text equals the owned model of the view (a unit test holds us to it).

Templates live in the top-level ``templates/frr/`` folder. An installed wheel carries them
as ``orchestrator/_templates`` (pyproject force-include); a source checkout has them at
``<repo>/templates``. ``StrictUndefined`` turns any missing variable into an error instead
of an empty string in a routing config. Output is deterministic: the view is sorted.

Passwords: ``reveal_passwords=True`` prints them, because the file must load into FRR as
it is and it goes to the operator's own terminal; ``False`` prints ``<redacted>`` (not
loadable as is, safe to paste into a ticket).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from frr.model import FrrView
from frr.translate import build_view
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.model.cluster import Assignment, ClusterSnapshot


def template_dir() -> Path:
    """``orchestrator/_templates`` in an installed wheel, else ``<repo>/templates``."""
    try:
        installed = resources.files("orchestrator") / "_templates"
        if installed.is_dir():
            return Path(str(installed))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - odd installs
        pass
    source = Path(__file__).resolve().parent.parent / "templates"
    if source.is_dir():
        return source
    raise FileNotFoundError("FRR templates not found (orchestrator/_templates or templates/)")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # a routing config, not HTML; inputs are validated in frr.translate
    )


def _context(view: FrrView, *, reveal_passwords: bool) -> dict[str, Any]:
    neighbors = {
        n.key: {
            "key": n.key,
            "lines": n.statements(reveal=reveal_passwords),
            "af_lines": n.af_statements(),
        }
        for n in view.neighbors
    }
    return {
        "node": view.node,
        "notes": view.notes,
        "globals": view.globals,
        "router": view.router,
        "neighbors": list(neighbors.values()),
        "address_families": [
            {
                "name": afi,
                "networks": view.networks_in(afi),
                "neighbors": [neighbors[n.key] for n in view.neighbors_in(afi)],
            }
            for afi in view.address_families
        ],
        "community_lists": view.community_lists,
        "route_maps": view.route_maps,
        "bfd_profiles": view.bfd_profiles,
    }


def render_config(view: FrrView, *, reveal_passwords: bool = True) -> str:
    template = _environment().get_template("frr/frr.conf.j2")
    return template.render(_context(view, reveal_passwords=reveal_passwords))


def render_for_node(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    node: str,
    *,
    reveal_passwords: bool = True,
) -> str:
    """The complete frr.conf ``node`` would run (``mlb render frr --node NODE DIR``)."""
    intent = bgp_intent(snapshot, assignments, node=node)
    return render_config(build_view(intent), reveal_passwords=reveal_passwords)
