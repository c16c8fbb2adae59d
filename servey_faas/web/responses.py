"""Starlette responses: JSON, the error bodies every route shares, and
:class:`~servey_faas.web.handling.Reply` objects sent by Starlette.

Error body shape (documented in OpenAPI as ``Error`` and ``ValidationError``)::

    {"error": "validation_error", "message": "invalid params",
     "errors": [{"location": ["query", "name"], "message": "field required"}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from servey_faas.errors import FieldError
from servey_faas.web.handling import JSON_MEDIA_TYPE, Reply, error_reply, render_json, validation_error_reply


class JSONResponse(Response):
    """A compact UTF-8 JSON response (:func:`~servey_faas.web.handling.render_json`)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render_json(content)


def to_response(reply: Reply) -> Response:
    """``reply`` as a Starlette response (``Content-Length`` and ``Content-Type`` set by Starlette)."""
    if not reply.headers and reply.media_type == JSON_MEDIA_TYPE and reply.status not in (204, 304):
        return _JSONReply(reply.body, reply.status)
    return Response(reply.body, status_code=reply.status, headers=dict(reply.headers), media_type=reply.media_type)


class _JSONReply(Response):
    """A JSON body without other headers: the headers Starlette's ``init_headers`` would make, in
    its order, without its general case (most replies are these; a small action's reply is
    served ~1 µs faster)."""

    media_type = JSON_MEDIA_TYPE

    def __init__(self, body: bytes, status: int) -> None:
        self.body = body
        self.status_code = status
        self.background = None
        self.raw_headers = [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON_TYPE)]


_JSON_TYPE = JSON_MEDIA_TYPE.encode("latin-1")


def error_response(status_code: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": error, "message": message}`` with ``status_code``."""
    return to_response(error_reply(status_code, error, message, headers))


def validation_error_response(errors: Sequence[FieldError]) -> Response:
    """HTTP 422 listing every invalid field with its location and message."""
    return to_response(validation_error_reply(errors))
