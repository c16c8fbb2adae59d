"""The limits a GraphQL document is validated against (:class:`~servey_faas.settings.LimitSettings`).

Strawberry's own extensions bound the operation: ``QueryDepthLimiter`` (selection depth,
introspection fields not counted), ``MaxTokensLimiter`` (the parser stops past the limit) and
``MaxAliasesLimiter``. :func:`value_depth_rule` bounds how deep an argument value written in the
document nests, as ``max_json_depth`` bounds a REST body: the arguments of a field count as the
params object, so a value accepted in a REST body is accepted here, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, ListValueNode, ObjectValueNode, ValidationRule, VisitorAction
from graphql.language.visitor import SKIP
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from servey_faas.settings import LimitSettings


def limit_extensions(limits: LimitSettings) -> list[Callable[[], SchemaExtension]]:
    """Factories of the strawberry extensions enforcing ``limits``, one of each per operation.

    The validation rules are made here, once: strawberry's ``ValidationCache`` keys its results by
    the rules, so the same document is validated once, as without limits.
    """
    rules = [
        *QueryDepthLimiter(max_depth=limits.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.graphql_max_aliases).validation_rules,
        value_depth_rule(limits.max_json_depth),
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.graphql_max_tokens),
        lambda: AddValidationRules(rules),
    ]


def value_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A graphql-core validation rule refusing an input object or list value in the document that
    nests, with the arguments object around it, deeper than ``max_depth`` levels."""
    message = f"an argument value is nested deeper than the limit of {max_depth} levels (counting the arguments object)"

    class ValueDepthRule(ValidationRule):
        depth = 1  # the arguments (params) object

        def enter_object_value(self, node: ObjectValueNode, *_args: Any) -> VisitorAction:
            return self._enter(node)

        def enter_list_value(self, node: ListValueNode, *_args: Any) -> VisitorAction:
            return self._enter(node)

        def leave_object_value(self, *_args: Any) -> None:
            self.depth -= 1

        def leave_list_value(self, *_args: Any) -> None:
            self.depth -= 1

        def _enter(self, node: ObjectValueNode | ListValueNode) -> VisitorAction:
            if self.depth >= max_depth:
                self.report_error(GraphQLError(message, node))
                return SKIP  # not entered: no leave either
            self.depth += 1
            return None

    return ValueDepthRule
