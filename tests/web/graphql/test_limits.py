"""servey_faas.web.graphql.limits: the document limits, as graphql-core validation rules."""

from __future__ import annotations

import graphql
import pytest

from servey_faas.settings import LimitSettings
from servey_faas.web.graphql.limits import limit_rules, value_depth_rule

SCHEMA = graphql.build_schema("input In { a: [In!] }  type Query { f(x: In, l: [[[Int]]]): Int }")


def errors(query: str, max_depth: int) -> list[str]:
    found = graphql.validate(SCHEMA, graphql.parse(query), [value_depth_rule(max_depth)])
    return [e.message for e in found]


@pytest.mark.parametrize(
    ("query", "depth"),
    [
        ("{ f }", 1),
        ("{ f(x: {}) }", 2),
        ("{ f(x: {a: [{a: []}]}) }", 5),
        ("{ f(l: [[[1]]]) }", 4),
        ("query($v: In = {a: [{}]}) { f(x: $v) }", 4),
    ],
)
def test_value_depth_counts_the_arguments_object(query: str, depth: int) -> None:
    assert errors(query, depth) == []
    message = f"an argument value is nested deeper than the limit of {depth - 1} levels (counting the arguments object)"
    assert errors(query, depth - 1) == ([message] if depth > 1 else [])


def test_each_too_deep_value_is_reported_once() -> None:
    assert len(errors("{ a: f(l: [[[1]]]) b: f(x: {a: [{a: [{}]}]}) }", 2)) == 2


def test_the_rules_are_made_once_per_schema() -> None:
    """Each call makes new rule classes (one per schema); a schema keeps its own, so that a
    document is validated once (see test_schema: each distinct document is validated once)."""
    limits = LimitSettings(graphql_max_depth=3, graphql_max_aliases=2, max_json_depth=5)
    rules = limit_rules(limits)
    assert len(rules) == 3
    too_deep = graphql.parse("{ f(x: {a: [{a: [{a: []}]}]}) }")
    assert [e.message for e in graphql.validate(SCHEMA, too_deep, list(rules))] == [
        "an argument value is nested deeper than the limit of 5 levels (counting the arguments object)"
    ]
    aliased = graphql.parse("{ a: f b: f c: f }")
    assert [e.message for e in graphql.validate(SCHEMA, aliased, list(rules))] == ["3 aliases found. Allowed: 2"]
