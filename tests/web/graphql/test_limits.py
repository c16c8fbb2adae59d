"""servey_faas.web.graphql.limits: the document limits, as graphql-core validation rules."""

from __future__ import annotations

import graphql
import pytest
from strawberry.extensions import AddValidationRules, MaxTokensLimiter

from servey_faas.settings import LimitSettings
from servey_faas.web.graphql.limits import limit_extensions, value_depth_rule

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


def test_the_rules_are_made_once_so_validation_stays_cached() -> None:
    """strawberry's ValidationCache keys results by the rules: a new rule class per operation would
    validate every document again (and fill the cache)."""
    factories = limit_extensions(LimitSettings(graphql_max_tokens=7))
    first, second = [f() for f in factories], [f() for f in factories]
    rules = [e.validation_rules for e in first if isinstance(e, AddValidationRules)]
    assert rules == [e.validation_rules for e in second if isinstance(e, AddValidationRules)]
    assert len(rules) == 1 and len(rules[0]) == 3
    [tokens] = [e for e in first if isinstance(e, MaxTokensLimiter)]
    assert tokens.max_token_count == 7
