"""Running a GraphQL operation: each distinct document is parsed and validated once, then executed by
graphql-core with the resolvers :func:`~.binding.bind_resolvers` put on the schema.

What a request costs is what depends on it: looking its document up (a bounded LRU cache of
:class:`Document` by query text), coercing its variables and running its fields. The answer is the
one strawberry's ``Schema.execute`` gives with the ``ParserCache``, ``ValidationCache``,
``MaxTokensLimiter`` and ``AddValidationRules`` extensions, in the same order of checks:

1. the document is parsed (at most ``max_tokens`` tokens); a syntax error is the answer
   (``GRAPHQL_PARSE_FAILED``, no ``data``);
2. the operation is picked by ``operationName``, else the first one (whose name is then the
   operation name graphql-core is given); none found raises :class:`UnknownOperationError`, an
   operation type the request may not run raises :class:`OperationNotAllowedError`;
3. the document is validated with graphql-core's specified rules, then ``rules`` (the app's
   limits), then strawberry's ``MaybeNullValidationRule`` and ``OneOfInputValidationRule``; its
   errors are the answer (``GRAPHQL_VALIDATION_FAILED``, no ``data``);
4. graphql-core executes the operation; internal errors are logged
   (:func:`~.errors.log_internal_errors`); any other exception is an answer without ``data``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.pyutils import is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from servey_faas.web.graphql.errors import GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, log_internal_errors, tag

#: Names of the operation types in refusals ("mutations are not allowed when using GET").
_PLURALS = {
    OperationType.QUERY: "queries",
    OperationType.MUTATION: "mutations",
    OperationType.SUBSCRIPTION: "subscriptions",
}
#: Values that are never awaitable: most of what resolvers return, told apart at once.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), list, dict})


class UnknownOperationError(Exception):
    """No operation of the document has the requested name (or the document has none)."""

    def __init__(self, operation_name: str | None) -> None:
        unknown = f'Unknown operation named "{operation_name}".'
        super().__init__("Can't get GraphQL operation type" if operation_name is None else unknown)


class OperationNotAllowedError(Exception):
    """The operation's type may not run over this request (a mutation over GET, a subscription)."""

    def __init__(self, operation_type: OperationType) -> None:
        self.operation_type = operation_type
        super().__init__(operation_type.value)

    def reason(self, method: str) -> str:
        return f"{_PLURALS[self.operation_type]} are not allowed when using {method}"


@dataclass(frozen=True, slots=True)
class Document:
    """A query text parsed and validated: its ``errors`` (parse or validation, already tagged with
    their code) are the answer when there are any; otherwise ``node`` and its operations by name."""

    node: DocumentNode | None
    first: OperationDefinitionNode | None
    named: dict[str, OperationDefinitionNode]
    parse_errors: list[GraphQLError] | None
    validation_errors: list[GraphQLError] | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an operation answers: ``errors`` and, unless ``data_missing`` (errors before execution),
    ``data``, as GraphQL spec §7.1 writes a response."""

    data: dict[str, Any] | None
    errors: Sequence[GraphQLError] | None
    data_missing: bool = False


class Operations:
    """Runs operations against ``schema``; see the module docstring.

    ``rules`` are the validation rules after graphql-core's specified ones (made once: a document's
    validation is cached); documents of more than ``max_tokens`` tokens are refused by the parser;
    ``cache_size`` distinct query texts are kept (least recently used dropped first).
    """

    def __init__(
        self, schema: GraphQLSchema, rules: Iterable[type[ASTValidationRule]], max_tokens: int, cache_size: int
    ) -> None:
        self.schema = schema
        self._rules = (*specified_rules, *rules, MaybeNullValidationRule, OneOfInputValidationRule)
        self._max_tokens = max_tokens
        self._cache_size = cache_size
        self._documents: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def document(self, query: str) -> Document:
        """``query`` parsed and validated, from the cache when it was seen lately. Safe from any
        thread (big requests run on threads of their own)."""
        documents = self._documents
        with self._lock:
            found = documents.get(query)
            if found is not None:
                documents.move_to_end(query)
                return found
        found = self._prepare(query)  # outside the lock: two threads may both prepare a new query
        with self._lock:
            documents[query] = found
            if len(documents) > self._cache_size:
                documents.popitem(last=False)
        return found

    def _prepare(self, query: str) -> Document:
        try:
            node = parse(query, max_tokens=self._max_tokens)
        except Exception as e:  # a GraphQLSyntaxError, or whatever else the parser raised
            error = e if isinstance(e, GraphQLError) else GraphQLError(str(e), original_error=e)
            return Document(None, None, {}, tag([error], GRAPHQL_PARSE_FAILED), None)
        first = None
        named: dict[str, OperationDefinitionNode] = {}
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if first is None:
                    first = definition
                if definition.name is not None:
                    named.setdefault(definition.name.value, definition)
        errors = validate(self.schema, node, self._rules)
        return Document(node, first, named, None, tag(errors, GRAPHQL_VALIDATION_FAILED) if errors else None)

    async def run(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        allowed: frozenset[OperationType],
    ) -> Outcome:
        """Run the operation ``operation_name`` of ``query`` with ``variables`` and ``context``
        (the resolvers' ``info.context``).

        :raises UnknownOperationError: when the document has no such operation.
        :raises OperationNotAllowedError: when the operation's type is not in ``allowed``.
        """
        document = self.document(query)
        if document.parse_errors is not None:
            return Outcome(None, document.parse_errors, data_missing=True)
        operation = document.first if operation_name is None else document.named.get(operation_name)
        if operation is None:
            raise UnknownOperationError(operation_name)
        if operation.operation not in allowed:
            raise OperationNotAllowedError(operation.operation)
        if document.validation_errors is not None:
            return Outcome(None, document.validation_errors, data_missing=True)
        if operation_name is None and operation.name is not None:
            operation_name = operation.name.value  # the first operation, as strawberry picks it
        try:
            pending = execute(
                self.schema,
                document.node,  # type: ignore[arg-type]  # set whenever parse_errors is None
                None,
                context,
                variables,
                operation_name,
                is_awaitable=_is_awaitable,
            )
            result = pending if isinstance(pending, ExecutionResult) else await pending
        except Exception as e:
            errors = [e if isinstance(e, GraphQLError) else GraphQLError(str(e), original_error=e)]
            log_internal_errors(errors)
            return Outcome(None, errors, data_missing=True)
        if result.errors:
            log_internal_errors(result.errors)
        return Outcome(result.data, result.errors)


def _is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's ``is_awaitable``, answered at once for the plain values most fields hold."""
    return type(value) not in _PLAIN_TYPES and is_awaitable(value)
