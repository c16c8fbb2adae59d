"""JSON responses, including the error bodies every route shares.

Error body shape (documented in OpenAPI as ``Error`` and ``ValidationError``)::

    {"error": "validation_error", "message": "invalid params",
     "errors": [{"location": ["query", "name"], "message": "field required"}]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from servey_faas.errors import FieldError


class JSONResponse(Response):
    """A compact UTF-8 JSON response."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def error_response(status_code: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{"error": error, "message": message}`` with ``status_code``."""
    return JSONResponse({"error": error, "message": message}, status_code=status_code, headers=headers)


def validation_error_response(errors: Sequence[FieldError]) -> JSONResponse:
    """HTTP 422 listing every invalid field with its location and message."""
    return JSONResponse(
        {
            "error": "validation_error",
            "message": "invalid params",
            "errors": [{"location": list(e.location), "message": e.message} for e in errors],
        },
        status_code=422,
    )
