"""servey_faas.web.graphql.execution: documents parsed and validated once, the order of the checks,
and the cache shared by threads."""

from __future__ import annotations

import asyncio
import threading

import graphql
import pytest

from servey_faas.web.graphql.execution import OperationNotAllowedError, Operations, UnknownOperationError

SCHEMA = graphql.build_schema("type Query { hello(name: String!): String }  type Mutation { bump: Int }")
QUERIES = frozenset({graphql.OperationType.QUERY})


def operations(cache_size: int = 8) -> Operations:
    return Operations(SCHEMA, (), max_tokens=50, cache_size=cache_size)


def test_errors_of_the_document_are_tagged_once_and_kept() -> None:
    ops = operations()
    syntax = ops.document("{ hello(")
    assert syntax.parse_errors is not None and syntax.node is None
    assert [e.extensions for e in syntax.parse_errors] == [{"code": "GRAPHQL_PARSE_FAILED"}]
    invalid = ops.document("{ nope }")
    assert invalid.validation_errors is not None
    assert [e.extensions for e in invalid.validation_errors] == [{"code": "GRAPHQL_VALIDATION_FAILED"}]
    assert ops.document("{ nope }") is invalid
    too_long = ops.document("{ " + 'hello(name: "x") ' * 20 + "}")
    assert too_long.parse_errors is not None
    assert "more than 50 tokens" in too_long.parse_errors[0].message


def test_the_operation_is_checked_before_the_document_is_found_invalid() -> None:
    """As strawberry did: an unknown operation name, or a mutation where only queries may run, is
    the request's error even when the document does not validate."""
    ops = operations()
    with pytest.raises(OperationNotAllowedError) as refused:
        asyncio.run(ops.run("mutation { bump nope }", None, None, None, QUERIES))
    assert refused.value.reason("GET") == "mutations are not allowed when using GET"
    with pytest.raises(UnknownOperationError, match=r'^Unknown operation named "B"\.$'):
        asyncio.run(ops.run("query A { nope }", None, "B", None, QUERIES))
    with pytest.raises(UnknownOperationError, match=r"^Can't get GraphQL operation type$"):
        asyncio.run(ops.run("fragment F on Query { hello }", None, None, None, QUERIES))
    outcome = asyncio.run(ops.run("query A { nope }", None, None, None, QUERIES))
    assert outcome.data_missing and outcome.errors


def test_the_cache_is_bounded_and_safe_from_several_threads() -> None:
    ops = operations(cache_size=16)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(400):
                document = ops.document(f'{{ hello(name: "{(seed * 7 + i) % 40}") }}')
                assert document.node is not None and document.validation_errors is None
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ops._documents) <= 16
