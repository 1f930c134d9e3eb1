"""Class choice (Deckhouse §7.3 step 1 plus MetalLB's --lb-class rule).

Matrix: bound class (exists / gone) x spec.loadBalancerClass (class / our lb class / other /
unset) x annotation (class / unknown) x default class (present / absent) x config
load_balancer_class (set / unset) x pool annotation naming a plain pool.
"""

from __future__ import annotations

from orchestrator.core.alloc.allocator import allocate
from orchestrator.core.alloc.classes import ClassSource, choose_class
from orchestrator.core.alloc.result import Reason
from orchestrator.core.model.cluster import ClusterConfig
from tests.unit.core.alloc.test_allocator_support import mlbc, pool, snap, svc

A, A_POOL = mlbc("a", "192.0.2.0/28")
B, B_POOL = mlbc("b", "192.0.2.16/28")
DEF, DEF_POOL = mlbc("def", "192.0.2.32/28", default=True)
PLAIN = pool("plain", "198.51.100.0/28")


def config(*, default: bool = False, lb_class: str | None = None) -> ClusterConfig:
    classes = [A, B] + ([DEF] if default else [])
    pools = [A_POOL, B_POOL, PLAIN] + ([DEF_POOL] if default else [])
    return snap(pools=pools, classes=classes, lb_class=lb_class).config


def test_no_class_no_default_goes_to_plain_pools() -> None:
    choice = choose_class(svc("web"), config())
    assert (choice.class_name, choice.source, choice.skip) == (None, ClassSource.PLAIN, None)


def test_default_class_takes_services_naming_none() -> None:
    choice = choose_class(svc("web"), config(default=True))
    assert (choice.class_name, choice.source) == ("def", ClassSource.DEFAULT)


def test_annotation_overrides_default() -> None:
    choice = choose_class(svc("web", class_annotation="a"), config(default=True))
    assert (choice.class_name, choice.source) == ("a", ClassSource.ANNOTATION)


def test_spec_class_overrides_annotation() -> None:
    choice = choose_class(svc("web", lb_class="b", class_annotation="a"), config(default=True))
    assert (choice.class_name, choice.source) == ("b", ClassSource.SPEC)


def test_unknown_annotation_is_ignored_like_the_hook() -> None:
    assert choose_class(svc("web", class_annotation="nope"), config()).source is ClassSource.PLAIN
    choice = choose_class(svc("web", class_annotation="nope"), config(default=True))
    assert choice.class_name == "def"


def test_bound_class_is_sticky() -> None:
    choice = choose_class(svc("web", lb_class="b", bound="a"), config(default=True))
    assert (choice.class_name, choice.source) == ("a", ClassSource.BOUND)


def test_bound_class_gone_skips() -> None:
    choice = choose_class(svc("web", bound="gone"), config(default=True))
    assert choice.skip is Reason.BOUND_CLASS_GONE
    assert "gone" in choice.message


def test_foreign_class_is_not_ours() -> None:
    choice = choose_class(svc("web", lb_class="other.io/lb"), config())
    assert choice.skip is Reason.NOT_OUR_CLASS


def test_quirk_foreign_class_falls_back_to_default() -> None:
    choice = choose_class(svc("web", lb_class="other.io/lb"), config(default=True))
    assert (choice.class_name, choice.source) == ("def", ClassSource.DEFAULT_FALLBACK)


def test_lb_class_rule_for_plain_pools() -> None:
    cfg = config(lb_class="ours")
    assert choose_class(svc("web", lb_class="ours"), cfg).source is ClassSource.PLAIN
    # With --lb-class set, a Service without a class is not ours (filterByLoadBalancerClass).
    assert choose_class(svc("web"), cfg).skip is Reason.NOT_OUR_CLASS


def test_our_lb_class_beats_the_default_class() -> None:
    choice = choose_class(svc("web", lb_class="ours"), config(default=True, lb_class="ours"))
    assert choice.source is ClassSource.PLAIN


def test_pool_annotation_naming_a_plain_pool_beats_the_default_class() -> None:
    choice = choose_class(svc("web", pool="plain"), config(default=True))
    assert choice.source is ClassSource.PLAIN
    # ... but not a class pool, and not an unknown one.
    assert choose_class(svc("web", pool="a"), config(default=True)).class_name == "def"
    assert choose_class(svc("web", pool="nope"), config(default=True)).class_name == "def"


def test_allocation_uses_the_chosen_class_pool() -> None:
    s = snap(
        [svc("web", lb_class="a"), svc("api"), svc("ext", lb_class="other.io/lb")],
        pools=[A_POOL, B_POOL, PLAIN],
        classes=[A, B],
    )
    result = allocate(s)
    web = result.assignment("demo/web")
    api = result.assignment("demo/api")
    assert web is not None and (web.pool, web.class_name) == ("a", "a")
    assert api is not None and (api.pool, api.class_name) == ("plain", None)
    ext = result.outcomes["demo/ext"]
    assert ext.reason is Reason.NOT_OUR_CLASS and not ext.decided and ext.assignment is None


def test_bound_class_gone_holds_current_ips() -> None:
    s = snap([svc("web", bound="gone", status=["192.0.2.5"])], pools=[A_POOL], classes=[A])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.BOUND_CLASS_GONE
    assert not outcome.decided and not outcome.changed
    assert outcome.ips == ("192.0.2.5",)
