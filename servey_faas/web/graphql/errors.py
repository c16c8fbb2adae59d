"""GraphQL errors of servey_faas: what a client may see, and what is masked.

Every error a resolver or permission raises on purpose is a :class:`PublicError` carrying
``extensions.code``:

- ``BAD_USER_INPUT``: the arguments do not match the action's JSON Schema (REST: 422); the message
  names each field and ``extensions.errors`` lists ``{"location": [...], "message": ...}`` with the
  location in GraphQL names, relative to the field's arguments.
- ``UNAUTHENTICATED``: no valid bearer token where one is needed (REST: 401).
- ``FORBIDDEN``: a valid token without the scope (REST: 403).
- ``INTERNAL_SERVER_ERROR``: the action raised; the message is ``internal server error`` and the
  exception is logged with its traceback (REST: 500).
- ``BAD_GATEWAY``: the API router could not reach the action's function through the gateway; the
  message names the gateway (REST: 502).

Any other error raised while executing a field (a result GraphQL cannot serialise, a bug) is
internal too: :func:`is_internal` tells, :func:`format_error` masks it the same way. Errors of the
document (syntax, validation, variables) are the client's and shown as graphql-core words them.
As GraphQL over HTTP does for field errors, the HTTP status stays 200 in every case.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

from servey_faas.errors import AccessError, FieldError, ForbiddenError, ValidationError

logger = logging.getLogger("servey_faas.web.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
BAD_GATEWAY = "BAD_GATEWAY"
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


def internal_error() -> PublicError:
    return PublicError(INTERNAL_MESSAGE, INTERNAL_SERVER_ERROR)


def is_internal(error: GraphQLError) -> bool:
    """True for an error raised while executing a field that is not a :class:`PublicError`."""
    original = error.original_error
    return (
        error.path is not None
        and original is not None
        and not isinstance(original, PublicError)
        and not isinstance(error, PublicError)
    )


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON form of ``error`` for a response (GraphQL spec §7.1.2), internal errors masked."""
    if not is_internal(error):
        return error.formatted  # type: ignore[return-value]
    formatted: dict[str, Any] = {"message": INTERNAL_MESSAGE}
    if error.locations is not None:
        formatted["locations"] = [location.formatted for location in error.locations]
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
                ".".join(map(str, error.path or ())),
                exc_info=(type(original), original, original.__traceback__) if original is not None else None,
            )


def _dotted(location: Sequence[str | int]) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(arguments)"
