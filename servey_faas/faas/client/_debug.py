"""``FAAS_DEBUG=1``: log every gateway request and response, with secrets redacted.

Records go to the logger ``servey_faas.faas`` at DEBUG level (the python-sdk logs to
``openfaas`` the same way, ``docs/openfaas.md#python-sdk-vocabulary``). Redacted: the ``Authorization``,
``Proxy-Authorization``, ``Cookie`` and ``Set-Cookie`` headers; secret values (``value``,
``rawValue``) and OAuth fields (``subject_token``, ``client_secret``, ``access_token``…) in JSON
and form bodies. Bodies are cut at 2,000 characters; streamed response bodies are not logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

logger = logging.getLogger("servey_faas.faas")

REDACTED = "<redacted>"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_FIELDS = frozenset(
    {"value", "rawValue", "subject_token", "client_secret", "access_token", "refresh_token", "id_token", "password"}
)
_MAX_BODY = 2000


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``FAAS_DEBUG`` is ``1`` or ``true``."""
    env = os.environ if environ is None else environ
    return env.get("FAAS_DEBUG", "").strip().lower() in ("1", "true")


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    """The headers with credential values replaced by ``<redacted>``."""
    return {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def _redact_json(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (REDACTED if k in _SECRET_FIELDS else _redact_json(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_json(v) for v in node]
    return node


def redact_body(body: bytes, content_type: str) -> str:
    """A body as loggable text: JSON and form fields that hold secrets redacted, cut at 2,000
    characters; binary bodies summarised by size."""
    if not body:
        return ""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes>"
    if "x-www-form-urlencoded" in content_type:
        pairs = [(k, REDACTED if k in _SECRET_FIELDS else v) for k, v in parse_qsl(text, keep_blank_values=True)]
        text = urlencode(pairs)
    else:
        try:
            text = json.dumps(_redact_json(json.loads(text)))
        except ValueError:
            pass
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + "…"


def log_request(request: httpx.Request) -> None:
    try:
        body = redact_body(request.content, request.headers.get("content-type", ""))
    except httpx.RequestNotRead:
        body = "<stream>"
    logger.debug("→ %s %s headers=%s body=%s", request.method, request.url, redact_headers(request.headers), body)


def log_response(response: httpx.Response) -> None:
    request = response.request
    logger.debug(
        "← %s %s %s headers=%s", response.status_code, request.method, request.url, redact_headers(response.headers)
    )


def log_response_body(response: httpx.Response) -> None:
    """Log a read response's body (redacted)."""
    logger.debug("← body=%s", redact_body(response.content, response.headers.get("content-type", "")))


def sync_hooks() -> dict[str, list[Callable[..., Any]]]:
    """httpx event hooks for a sync client (they see every request, auth exchanges included)."""
    return {"request": [log_request], "response": [log_response]}


def async_hooks() -> dict[str, list[Callable[..., Any]]]:
    """httpx event hooks for an async client."""

    async def on_request(request: httpx.Request) -> None:
        log_request(request)

    async def on_response(response: httpx.Response) -> None:
        log_response(response)

    return {"request": [on_request], "response": [on_response]}
