"""GraphQL errors of servey_faas: what a client may see, and what is masked.

Every error of a response carries ``extensions.code`` (the codes Apollo Server uses, so that GraphQL
clients and tools that know them understand them):

- ``GRAPHQL_PARSE_FAILED``: the document is not GraphQL (a syntax error);
- ``GRAPHQL_VALIDATION_FAILED``: the document does not fit the schema (an unknown field, an argument
  missing or of the wrong type...), found by graphql-core's validation rules before anything runs;
- ``BAD_USER_INPUT``: ``variables`` that do not fit their types, or arguments that do not match
  the action's JSON Schema (REST: 422); for the latter the message names each field and
  ``extensions.errors`` lists ``{"location": [...], "message": ...}`` with the location in GraphQL
  names, relative to the field's arguments;
- ``UNAUTHENTICATED``: no valid bearer token where one is needed (REST: 401);
- ``FORBIDDEN``: a valid token without the scope (REST: 403);
- ``INTERNAL_SERVER_ERROR``: the action raised, or its result cannot be written as its GraphQL
  type; the message is ``internal server error`` and the exception is logged with its traceback
  (REST: 500);
- ``BAD_GATEWAY``: the API router could not reach the action's function through the gateway; the
  message names the gateway (REST: 502);
- ``GATEWAY_TIMEOUT``: the action ran past its ``timeout`` and was cancelled (an async action) or
  left to finish unheard (a sync one); the message names the action and the timeout (REST: 504,
  named, as ``INTERNAL_SERVER_ERROR`` is, after its HTTP status);
- ``BAD_REQUEST``: the HTTP request itself cannot be read (see :mod:`.routes`; no ``data``);
  ``PAYLOAD_TOO_LARGE`` when its body is over the limit (HTTP 413).

Errors a resolver raises on purpose are :class:`PublicError` instances carrying their code; the
document's errors get theirs from :func:`tag` when it is parsed and validated (see
:mod:`.execution`); the errors graphql-core raises while executing get theirs from
:func:`code_of`. As GraphQL over HTTP does for field errors, the HTTP status stays 200 in every
case but ``BAD_REQUEST``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, ValueNode

from servey_faas.errors import AccessError, ActionTimeoutError, FieldError, ForbiddenError, ValidationError

logger = logging.getLogger("servey_faas.web.graphql")

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
BAD_REQUEST = "BAD_REQUEST"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
BAD_GATEWAY = "BAD_GATEWAY"
GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT"
INTERNAL_MESSAGE = "internal server error"


class PublicError(GraphQLError):
    """An error whose message and ``extensions`` are meant for the client."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def validation_error(error: ValidationError, locate: Any = None) -> PublicError:
    """``BAD_USER_INPUT`` listing each invalid field; ``locate`` maps a params location to the
    GraphQL one (identity when None)."""
    errors = [FieldError(tuple(locate(e.location)) if locate else e.location, e.message) for e in error.errors]
    return PublicError(
        "invalid arguments: " + "; ".join(f"{_dotted(e.location)}: {e.message}" for e in errors),
        BAD_USER_INPUT,
        errors=[{"location": list(e.location), "message": e.message} for e in errors],
    )


def access_error(error: AccessError) -> PublicError:
    """``FORBIDDEN`` for a :class:`ForbiddenError`, ``UNAUTHENTICATED`` for any other refusal."""
    return PublicError(str(error), FORBIDDEN if isinstance(error, ForbiddenError) else UNAUTHENTICATED)


def timeout_error(error: ActionTimeoutError) -> PublicError:
    """``GATEWAY_TIMEOUT`` for an action that ran past its timeout."""
    return PublicError(str(error), GATEWAY_TIMEOUT)


def internal_error() -> PublicError:
    return PublicError(INTERNAL_MESSAGE, INTERNAL_SERVER_ERROR)


def tag(errors: list[GraphQLError], code: str) -> list[GraphQLError]:
    """``errors``, each without a code given ``code`` (in place): graphql-core's parse and
    validation errors carry none."""
    for error in errors:
        if error_code(error) is None:
            error.extensions = {**(error.extensions or {}), "code": code}
    return errors


def error_code(error: GraphQLError) -> str | None:
    """The ``extensions.code`` ``error`` carries, if any."""
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def code_of(error: GraphQLError) -> str:
    """The code of ``error``: the one it carries, else what graphql-core's execution raised it for:
    ``BAD_USER_INPUT`` for ``variables`` or an argument that do not fit their types (an error
    without a path, or located at an input value), ``INTERNAL_SERVER_ERROR`` for anything else (a
    result that does not fit its type, an exception outside the resolvers)."""
    code = error_code(error)
    if code is not None:
        return code
    if isinstance(error, GraphQLSyntaxError):  # not tagged: parsed elsewhere
        return GRAPHQL_PARSE_FAILED
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return INTERNAL_SERVER_ERROR
    if error.path is None or (error.nodes and all(isinstance(node, ValueNode) for node in error.nodes)):
        return BAD_USER_INPUT
    return INTERNAL_SERVER_ERROR


def is_internal(error: GraphQLError) -> bool:
    """True for an error the server is to blame for and that carries no code of its own (not a
    :class:`PublicError`): its message is masked and it is logged."""
    return error_code(error) is None and code_of(error) == INTERNAL_SERVER_ERROR


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON form of ``error`` for a response (GraphQL spec §7.1.2) with its ``extensions.code``,
    internal errors masked."""
    if not is_internal(error):
        formatted: dict[str, Any] = dict(error.formatted)
        formatted["extensions"] = {**formatted.get("extensions", {}), "code": code_of(error)}
        return formatted
    formatted = {"message": INTERNAL_MESSAGE}
    if error.locations is not None:
        formatted["locations"] = [location.formatted for location in error.locations]
    if error.path is not None:
        formatted["path"] = error.path
    formatted["extensions"] = {"code": INTERNAL_SERVER_ERROR}
    return formatted


def log_internal_errors(errors: Sequence[GraphQLError]) -> None:
    """Log each internal error with the traceback of the exception behind it."""
    for error in errors:
        if is_internal(error):
            original = error.original_error
            logger.error(
                "GraphQL field %s failed",
                ".".join(map(str, error.path or ())) or "(none: the request)",
                exc_info=(type(original), original, original.__traceback__) if original is not None else None,
            )


def _dotted(location: Sequence[str | int]) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(arguments)"
