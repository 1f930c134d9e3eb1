"""Which MetalLoadBalancerClass serves a Service, or whether plain MetalLB pools do.

Deckhouse's hook (``discovery_l2_load_balancers.go``) picks the class with rules where a
later rule overrides an earlier one::

    default MLBC (isDefault)  <  annotation metal-load-balancer-class  <  spec.loadBalancerClass

and then the binding recorded on the Service (``state.bound_class``) beats all of them: it is
sticky, and when the bound class no longer exists the Service is skipped (``boundClassGone``),
never silently moved to another class. A name in the annotation or in
``spec.loadBalancerClass`` that is not an existing class is ignored by those rules, exactly as
in the hook.

Plain MetalLB pools serve what no class took, under MetalLB's ``--lb-class`` rule: with
``config.load_balancer_class`` unset only Services without ``spec.loadBalancerClass``, with it
set only Services whose ``spec.loadBalancerClass`` equals it. Everything else is another
implementation's Service (``notOurClass``).

Two rules settle what the two systems, running side by side in Deckhouse, leave undecided
(there the L2 hook and the BGP controller would both act on the same Service):

- ``spec.loadBalancerClass`` equal to our ``load_balancer_class`` is an explicit request for
  plain pools; it goes to them even when a default class exists.
- a Service naming no class at all but carrying a pool annotation that names an existing plain
  pool (``network.deckhouse.io/load-balancer-pool`` / ``metallb.io/address-pool``) goes to that
  pool, not to the default class: otherwise the pool annotation could never work while a
  default class exists.

The Deckhouse quirk is kept on purpose: with a default class present, a Service whose
``spec.loadBalancerClass`` names something that is neither a class nor our load balancer class
still falls back to the default class (``ClassSource.DEFAULT_FALLBACK``), because the hook does
so and clusters migrated from Deckhouse rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from orchestrator.core.alloc.result import Reason
from orchestrator.core.model.cluster import ClusterConfig, L2Class, PoolKind, Service


class ClassSource(StrEnum):
    """Which rule picked the class (for ``mlb explain`` and tests)."""

    BOUND = "bound"
    SPEC = "spec.loadBalancerClass"
    ANNOTATION = "annotation"
    DEFAULT = "default"
    DEFAULT_FALLBACK = "defaultFallback"  # the Deckhouse quirk
    PLAIN = "plain"  # no class: plain MetalLB pools


@dataclass(frozen=True)
class ClassChoice:
    """``class_name`` None with ``skip`` None means plain MetalLB pools serve the Service."""

    class_name: str | None
    source: ClassSource | None
    skip: Reason | None = None
    message: str = ""


def default_class(config: ClusterConfig) -> L2Class | None:
    """The default class; with several marked default (invalid), the first by name."""
    defaults = sorted((c for c in config.classes.values() if c.is_default), key=lambda c: c.name)
    return defaults[0] if defaults else None


def choose_class(service: Service, config: ClusterConfig) -> ClassChoice:
    classes = config.classes
    bound = service.state.bound_class
    for name in (bound, service.load_balancer_class, service.request.class_annotation):
        if name is not None and name not in classes and name in config.invalid_classes:
            # never a fallback to the default: the IPs would move once the class is fixed
            return ClassChoice(
                None,
                None,
                Reason.CLASS_INVALID,
                f"MetalLoadBalancerClass {name} is invalid and left out (see its errors)",
            )
    if bound is not None:
        if bound in classes:
            return ClassChoice(bound, ClassSource.BOUND)
        return ClassChoice(
            None,
            None,
            Reason.BOUND_CLASS_GONE,
            f"the Service is bound to MetalLoadBalancerClass {bound}, which no longer exists",
        )
    spec = service.load_balancer_class
    if spec is not None and spec in classes:
        return ClassChoice(spec, ClassSource.SPEC)
    annotation = service.request.class_annotation
    if annotation is not None and annotation in classes:
        return ClassChoice(annotation, ClassSource.ANNOTATION)
    ours = config.load_balancer_class
    if spec is not None and spec == ours:
        return ClassChoice(None, ClassSource.PLAIN)
    pool = config.pools.get(service.request.pool or "")
    if spec is None and ours is None and pool is not None and pool.kind is not PoolKind.CLASS:
        return ClassChoice(None, ClassSource.PLAIN)
    default = default_class(config)
    if default is not None:
        source = ClassSource.DEFAULT if spec is None else ClassSource.DEFAULT_FALLBACK
        return ClassChoice(default.name, source)
    if spec is None and ours is None:
        return ClassChoice(None, ClassSource.PLAIN)
    wants = "no loadBalancerClass" if ours is None else f"loadBalancerClass {ours}"
    return ClassChoice(
        None,
        None,
        Reason.NOT_OUR_CLASS,
        f"spec.loadBalancerClass is {spec or 'unset'}; this controller serves Services with "
        f"{wants} and MetalLoadBalancerClasses",
    )
