"""Label selectors: matchLabels, every matchExpressions operator, and the empty-list rule."""

from orchestrator.core.model.selectors import LabelSelector, Operator, Requirement, any_matches


def test_match_labels_and_expressions() -> None:
    sel = LabelSelector(
        match_labels={"zone": "a"},
        match_expressions=(
            Requirement("role", Operator.IN, ("lb", "edge")),
            Requirement("drain", Operator.DOES_NOT_EXIST),
        ),
    )
    assert sel.matches({"zone": "a", "role": "lb"})
    assert not sel.matches({"zone": "b", "role": "lb"})
    assert not sel.matches({"zone": "a", "role": "db"})
    assert not sel.matches({"zone": "a", "role": "lb", "drain": ""})


def test_not_in_matches_missing_key() -> None:
    req = Requirement("tier", Operator.NOT_IN, ("db",))
    assert req.matches({})
    assert not req.matches({"tier": "db"})
    assert Requirement("x", Operator.EXISTS).matches({"x": ""})


def test_empty_selector_list_matches_everything() -> None:
    assert any_matches((), {"a": "b"})
    assert not any_matches((LabelSelector({"a": "c"}),), {"a": "b"})
    assert str(LabelSelector({"b": "2", "a": "1"})) == "a=1,b=2"
