"""``/graphql``: GraphQL over HTTP, GraphiQL, and GraphiQL's files.

- ``POST /graphql`` with a JSON body ``{"query": ..., "variables": {...}, "operationName": ...}``
  (``Content-Type: application/json``) runs queries and mutations.
- ``GET /graphql?query=...&variables=...&operationName=...`` runs queries only (a mutation over
  GET answers 405 with ``Allow: POST``, as the GraphQL over HTTP draft §6.2.1 asks).
- ``GET /graphql`` without ``query`` is the GraphiQL page.

Answers are ``application/json`` ``{"data": ..., "errors": [...]}`` (GraphQL spec §7.1). As GraphQL
over HTTP does for ``application/json``, the status is 200 whenever the operation was run, also
when ``errors`` holds validation, access (``UNAUTHENTICATED``, ``FORBIDDEN``) or internal errors:
their kind is in ``extensions.code`` (see :mod:`servey_faas.web.graphql.errors`). A request that
cannot be read (bad JSON, no query, unknown ``operationName``, ``variables`` nested deeper than
``max_json_depth``) is a 400 with ``errors`` (code ``BAD_REQUEST``) and no ``data``; a body over
``max_body_bytes``, 413; another content type, 415. The document is validated against the app's other limits (see
:mod:`servey_faas.web.graphql.limits`).

A request bigger than :data:`~servey_faas.web.bodies.OFF_LOOP_BYTES` (body, or query string) is
worked on off the event loop: its whole operation runs on an event loop of its own in one of the
:class:`~servey_faas.web.bodies.Bodies` threads, its actions still being called on the server's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from graphql import OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from servey_faas.web import jsonparse
from servey_faas.web.bodies import Bodies
from servey_faas.web.graphql._types import graphql_name
from servey_faas.web.graphql.errors import (
    BAD_REQUEST,
    INTERNAL_MESSAGE,
    INTERNAL_SERVER_ERROR,
    PAYLOAD_TOO_LARGE,
    format_error,
)
from servey_faas.web.graphql.execution import OperationNotAllowedError, UnknownOperationError
from servey_faas.web.graphql.graphiql import (
    PAGE_CACHE_CONTROL,
    PAGE_CONTENT_SECURITY_POLICY,
    GraphiQLAssets,
    default_query,
    graphiql_page,
)
from servey_faas.web.graphql.resolvers import GraphQLContext
from servey_faas.web.graphql.schema import AppSchema, build_schema
from servey_faas.web.handling import Reply, render_json
from servey_faas.web.params import json_too_deep
from servey_faas.web.responses import to_response

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp

logger = logging.getLogger("servey_faas.web.graphql")

GRAPHQL_PATH = "/graphql"
DEFAULT_TITLE = "servey_faas"

_QUERIES = frozenset({OperationType.QUERY})
_QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_HTML = "text/html; charset=utf-8"
_JSON = "application/json"
#: The query parameters of a GraphQL GET request (GraphQL over HTTP, "GET"); others are ignored.
_GET_FIELDS = ("query", "variables", "operationName")


def graphql_routes(
    app: ServeyApp, *, path: str = GRAPHQL_PATH, title: str = DEFAULT_TITLE, bodies: Bodies | None = None
) -> list[BaseRoute]:
    """The routes of ``path`` (GraphQL and GraphiQL) and ``<path>/assets/{token}/{name}``.

    The schema is built here, once, from ``app``'s actions; the GraphiQL page is rendered here too.
    ``bodies`` reads request bodies and takes big requests off the event loop (default: one for
    ``app.settings.limits``).

    :raises ActionDefinitionError: from building the schema.
    :raises ConfigurationError: when GraphiQL's files are missing.
    """
    schema = build_schema(app)
    assets = GraphiQLAssets.locate()
    examples: dict[str, Mapping[str, object]] = {}
    for field_name, action_name in schema.queries.items():
        invoker = app.invokers[action_name]
        if invoker.action.examples:
            params = invoker.example_params(invoker.action.examples[0].params)
            examples[field_name] = {graphql_name(k): v for k, v in params.items()}
    query_type = schema.strawberry._schema.query_type
    start = default_query(query_type, examples) if query_type is not None else ""
    page = graphiql_page(title, f"{path.rstrip('/').rsplit('/', 1)[-1]}/assets/{assets.token}", start)
    endpoint = GraphQLEndpoint(schema, page, bodies or Bodies(app.settings.limits))
    return [
        Route(path, endpoint, methods=["GET", "POST"], include_in_schema=False),
        Route(f"{path.rstrip('/')}/assets/{{token}}/{{name}}", assets.serve, methods=["GET"], include_in_schema=False),
    ]


class GraphQLEndpoint:
    """The ASGI endpoint of ``/graphql``; see the module docstring."""

    def __init__(self, schema: AppSchema, graphiql_page: bytes, bodies: Bodies) -> None:
        self.schema = schema
        self._run = schema.operations.run
        self._page = graphiql_page
        self._bodies = bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a plain ASGI app: no per-request wrapping by Starlette's router. An
        error of ours (not of an action: those are field errors) is logged and answered 500 with
        a GraphQL error, ``INTERNAL_SERVER_ERROR``."""
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except Exception:
            logger.exception("GraphQL request %s %s failed", request.method, request.url.path)
            response = to_response(Reply(500, _internal_error_body()))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        bodies = self._bodies
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if content_type.partition(";")[0].strip().lower() != _JSON:
                return _request_error("send the operation as a JSON body (Content-Type: application/json)", 415)
            raw = await bodies.read(request)
            if raw is None:
                limit = bodies.limits.max_body_bytes
                return _request_error(
                    f"the request body is larger than the limit of {limit} bytes", 413, code=PAYLOAD_TOO_LARGE
                )
            size = len(raw)

            def read() -> dict[str, Any] | Response:
                return self._read_post(raw)

            allowed = _QUERIES_AND_MUTATIONS
        else:
            params = request.query_params
            if "query" not in params:
                return Response(
                    self._page,
                    media_type=_HTML,
                    headers={
                        "Cache-Control": PAGE_CACHE_CONTROL,
                        "Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY,
                    },
                )
            size = len(request.scope["query_string"])
            fields = dict(params)
            if len(fields) < len(params.multi_items()):  # a field given twice: which one was meant?
                for name in _GET_FIELDS:
                    if len(params.getlist(name)) > 1:
                        return _request_error(f"the query parameter {name!r} is given more than once; give it once")

            def read() -> dict[str, Any] | Response:
                return self._read_get(fields)

            allowed = _QUERIES
        if not bodies.is_big(size):
            return await self._operation(request, read, allowed)
        server_loop = asyncio.get_running_loop()
        return await bodies.off_loop(lambda: asyncio.run(self._operation(request, read, allowed, server_loop)))

    def _read_post(self, raw: bytes) -> dict[str, Any] | Response:
        # The body is one level above a REST body: its variables are the params object.
        if json_too_deep(raw, self._bodies.limits.max_json_depth + 1):
            return self._too_deep()
        try:
            body = jsonparse.loads(raw)
        except ValueError:
            return _request_error("the body is not valid JSON")
        if not isinstance(body, dict):
            return _request_error('the body must be a JSON object: {"query": ..., "variables": {...}}')
        return body

    def _read_get(self, fields: dict[str, Any]) -> dict[str, Any] | Response:
        if "variables" in fields:
            if json_too_deep(fields["variables"], self._bodies.limits.max_json_depth):
                return self._too_deep()
            try:
                fields["variables"] = json.loads(fields["variables"])
            except ValueError:
                return _request_error("variables must be a JSON object")
        return fields

    def _too_deep(self) -> Response:
        return _request_error(
            f"variables are nested deeper than the limit of {self._bodies.limits.max_json_depth} levels"
        )

    async def _operation(
        self,
        request: Request,
        read: Callable[[], dict[str, Any] | Response],
        allowed: frozenset[OperationType],
        server_loop: asyncio.AbstractEventLoop | None = None,
    ) -> Response:
        """Read the request with ``read``, run its operation, answer; on ``server_loop``'s thread,
        or on another event loop (``server_loop`` given)."""
        body = read()
        if isinstance(body, Response):
            return body
        query, variables, operation_name = body.get("query"), body.get("variables"), body.get("operationName")
        if not isinstance(query, str) or not query.strip():
            return _request_error("the request has no query (a GraphQL document as a string)")
        if variables is not None and not isinstance(variables, dict):
            return _request_error("variables must be a JSON object")
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("operationName must be a string")
        context = GraphQLContext(request, request.headers.get("authorization"), server_loop=server_loop)
        try:
            outcome = await self._run(query, variables, operation_name, context, allowed)
        except OperationNotAllowedError as e:
            return _request_error(e.reason(request.method), 405, {"Allow": "POST"})
        except UnknownOperationError as e:
            return _request_error(str(e))
        answer: dict[str, Any] = {}
        if outcome.errors:
            answer["errors"] = [format_error(e) for e in outcome.errors]
        if not outcome.data_missing:
            answer["data"] = outcome.data
        try:
            content = render_json(answer)
        except ValueError:  # NaN or infinity in a JSON value of a result
            logger.exception("GraphQL result of %s %s cannot be written as JSON", request.method, request.url.path)
            content = _internal_error_body()
        return to_response(Reply(200, content))


def _request_error(
    message: str, status_code: int = 400, headers: Mapping[str, str] | None = None, code: str = BAD_REQUEST
) -> Response:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False).encode()
    return Response(body, status_code=status_code, media_type=_JSON, headers=headers)


def _internal_error_body() -> bytes:
    return json.dumps(
        {"errors": [{"message": INTERNAL_MESSAGE, "extensions": {"code": INTERNAL_SERVER_ERROR}}], "data": None}
    ).encode()
