"""The limits a GraphQL document is validated against (:class:`~servey_faas.settings.LimitSettings`).

The validation rules of strawberry's own extensions bound the operation: ``QueryDepthLimiter``
(selection depth, introspection fields not counted) and ``MaxAliasesLimiter``; the parser stops
past ``graphql_max_tokens`` tokens, as with strawberry's ``MaxTokensLimiter``.
:func:`value_depth_rule` bounds how deep an argument value written in the document nests, as
``max_json_depth`` bounds a REST body: the arguments of a field count as the params object, so a
value accepted in a REST body is accepted here, and the other way round.
"""

from __future__ import annotations

from typing import Any

from graphql import ASTValidationRule, GraphQLError, ListValueNode, ObjectValueNode, ValidationRule, VisitorAction
from graphql.language.visitor import SKIP
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from servey_faas.settings import LimitSettings


def limit_rules(limits: LimitSettings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules enforcing ``limits`` on a document: selection depth, aliases, and the
    nesting of argument values (``max_tokens`` is the parser's, see
    :class:`~.execution.Operations`). Made once per schema: a document is validated once."""
    return (
        *QueryDepthLimiter(max_depth=limits.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.graphql_max_aliases).validation_rules,
        value_depth_rule(limits.max_json_depth),
    )


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
