"""The one request/response layer of the gateway API, shared by the sync and async clients.

Every gateway operation is a pure function returning a :class:`Call`: the HTTP method, path,
query, body and headers to send (namespaces placed as ``docs/openfaas.md#passing-namespaces`` says), whether the call
is idempotent (so it may be retried), which credentials it needs, and ``parse``, which turns the
read response into the result or raises the error of ``_errors``. The clients only build the
``httpx.Request``, send it (with retries and auth) and hand the response to ``parse``.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar
from urllib.parse import urlsplit

import httpx

from servey_faas.faas.client._errors import FunctionError, InvalidArgumentError, NotFoundError, status_error

if TYPE_CHECKING:  # imported by the calls that parse them: invoking needs none (the router's cold start)
    from servey_faas.faas.client.models import (
        FunctionDeployment,
        FunctionNamespace,
        FunctionStatus,
        GatewayInfo,
        LogEntry,
        Secret,
    )

T = TypeVar("T")


#: Query values as httpx takes them: one value or several for a repeated key; or a query string
#: already encoded (``a=1&b=x%20y``, as a request carried it), sent as it is.
Query: TypeAlias = Mapping[str, str | Sequence[str]] | str
#: What an invocation body may be: raw bytes, text (UTF-8), or a JSON-able mapping or list.
Payload: TypeAlias = bytes | str | Mapping[str, Any] | list[Any] | None

# A function or namespace name: the gateway's character class without '.', which it reads as
# the namespace separator (``docs/openfaas.md#routes``, ``docs/openfaas.md#passing-namespaces``).
_NAME = re.compile(r"^[-a-zA-Z_0-9]+$")
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")

AuthKind: TypeAlias = Literal["system", "function", "none"]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One gateway call, described without sending it.

    ``auth`` says which credentials apply: ``system`` the gateway credentials (``/system/*``),
    ``function`` a scoped function token when function auth is on, never the gateway
    credentials (``docs/openfaas.md#gateway-tokens-and-function-tokens``), ``none`` nothing. ``function`` is
    ``(name, namespace)`` for invocations. ``idempotent`` calls are retried on 502/503/504 and connection errors.
    ``bearer`` is an end user's token for the function: sent as ``Authorization: Bearer``, or in
    :data:`USER_AUTHORIZATION_HEADER` when the call carries a function token.
    """

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Query | None = None
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    idempotent: bool = True
    auth: AuthKind = "system"
    function: tuple[str, str] | None = None
    bearer: str | None = None


def check_name(name: str, what: str = "function name") -> str:
    """``name`` unchanged when the gateway can route it (``[-a-zA-Z_0-9]+``, no ``.``).

    :raises InvalidArgumentError: otherwise (a ``.`` would be read as a namespace,
    ``docs/openfaas.md#passing-namespaces``).
    """
    if not _NAME.match(name):
        raise InvalidArgumentError(f"{what} {name!r} must match [-a-zA-Z_0-9]+ (a '.' separates the namespace)")
    return name


def _ns_query(namespace: str | None) -> dict[str, str] | None:
    return {"namespace": check_name(namespace, "namespace")} if namespace else None


def _json(response: httpx.Response) -> Any:
    if not response.is_success:
        raise status_error(response)
    return response.json()


def _status(response: httpx.Response) -> int:
    if not response.is_success:
        raise status_error(response)
    return response.status_code


def _none(response: httpx.Response) -> None:
    if not response.is_success:
        raise status_error(response)


# --- system --------------------------------------------------------------------------------------


def info() -> Call[GatewayInfo]:
    """GET ``/system/info`` (``docs/openfaas.md#routes``)."""
    from servey_faas.faas.client.models import GatewayInfo

    return Call("GET", "/system/info", lambda r: GatewayInfo.from_wire(_json(r)))


def list_namespaces() -> Call[list[str]]:
    """GET ``/system/namespaces`` (``docs/openfaas.md#routes``): the namespace names."""
    return Call("GET", "/system/namespaces", lambda r: [str(n) for n in _json(r) or []])


def get_namespace(namespace: str) -> Call[FunctionNamespace]:
    """GET ``/system/namespace/{NS}`` (Enterprise; ``docs/openfaas.md#routes``)."""
    from servey_faas.faas.client.models import FunctionNamespace

    return Call(
        "GET",
        f"/system/namespace/{check_name(namespace, 'namespace')}",
        lambda r: FunctionNamespace.from_wire(_json(r)),
    )


def create_namespace(spec: FunctionNamespace) -> Call[int]:
    """POST ``/system/namespace/`` (trailing slash, name in the body; ``docs/openfaas.md#routes``), with the
    ``openfaas="1"`` label and annotation the SDKs add."""
    check_name(spec.name, "namespace")
    return Call("POST", "/system/namespace/", _status, json=spec.managed().to_wire(), idempotent=False)


def update_namespace(spec: FunctionNamespace) -> Call[int]:
    """PUT ``/system/namespace/{NS}`` (``docs/openfaas.md#routes``,
    ``docs/openfaas.md#where-the-spec-differs-from-the-code``: singular ``namespace``)."""
    path = f"/system/namespace/{check_name(spec.name, 'namespace')}"
    return Call("PUT", path, _status, json=spec.managed().to_wire())


def delete_namespace(namespace: str) -> Call[None]:
    """DELETE ``/system/namespace/{NS}`` with ``{"name": NS}`` in the body (``docs/openfaas.md#passing-namespaces``)."""
    return Call("DELETE", f"/system/namespace/{check_name(namespace, 'namespace')}", _none, json={"name": namespace})


def list_functions(namespace: str | None = None) -> Call[list[FunctionStatus]]:
    """GET ``/system/functions[?namespace=NS]`` (``docs/openfaas.md#routes``,
    ``docs/openfaas.md#q1-listing-functions-needs-prometheus``)."""
    from servey_faas.faas.client.models import FunctionStatus

    return Call(
        "GET",
        "/system/functions",
        lambda r: [FunctionStatus.from_wire(f) for f in _json(r) or []],
        params=_ns_query(namespace),
    )


def get_function(name: str, namespace: str | None = None) -> Call[FunctionStatus]:
    """GET ``/system/function/{NAME}[?namespace=NS]`` (``docs/openfaas.md#routes``)."""
    from servey_faas.faas.client.models import FunctionStatus

    return Call(
        "GET",
        f"/system/function/{check_name(name)}",
        lambda r: FunctionStatus.from_wire(_json(r)),
        params=_ns_query(namespace),
    )


def deploy_function(spec: FunctionDeployment) -> Call[int]:
    """POST ``/system/functions`` (``docs/openfaas.md#routes``): 202 (some providers 200 or 201). Not idempotent."""
    check_name(spec.service)
    return Call("POST", "/system/functions", _status, json=spec.to_wire(), idempotent=False)


def update_function(spec: FunctionDeployment) -> Call[int]:
    """PUT ``/system/functions`` (``docs/openfaas.md#routes``): a full replacement; 404 when the function is missing."""
    check_name(spec.service)
    return Call("PUT", "/system/functions", _status, json=spec.to_wire())


def delete_function(name: str, namespace: str | None = None) -> Call[None]:
    """DELETE ``/system/functions`` with a ``DeleteFunctionRequest`` body
    (``docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest``,
    ``docs/openfaas.md#where-the-spec-differs-from-the-code``)."""
    body = {"functionName": check_name(name)}
    if namespace:
        body["namespace"] = check_name(namespace, "namespace")
    return Call("DELETE", "/system/functions", _none, json=body)


def scale_function(name: str, replicas: int, namespace: str | None = None) -> Call[None]:
    """POST ``/system/scale-function/{NAME}`` with a ``ScaleServiceRequest``
    (``docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest``). The CE gateway clamps ``replicas`` to [1, 5]
    (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``). Setting a count is idempotent.

    :raises InvalidArgumentError: for a negative count (a uint64 on the wire).
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise InvalidArgumentError(f"replicas must be an int >= 0 (a uint64), not {replicas!r}")
    body: dict[str, Any] = {"serviceName": check_name(name), "replicas": replicas}
    if namespace:
        body["namespace"] = check_name(namespace, "namespace")
    return Call("POST", f"/system/scale-function/{name}", _none, json=body)


def list_secrets(namespace: str | None = None) -> Call[list[Secret]]:
    """GET ``/system/secrets[?namespace=NS]``: names and namespaces, never values (``docs/openfaas.md#routes``)."""
    from servey_faas.faas.client.models import Secret

    return Call(
        "GET", "/system/secrets", lambda r: [Secret.from_wire(s) for s in _json(r) or []], params=_ns_query(namespace)
    )


def create_secret(secret: Secret) -> Call[int]:
    """POST ``/system/secrets`` (``docs/openfaas.md#routes``): 201; 409 (:class:`ConflictError`) if it exists."""
    check_name(secret.name, "secret name")
    return Call("POST", "/system/secrets", _status, json=secret.to_wire(), idempotent=False)


def update_secret(secret: Secret) -> Call[int]:
    """PUT ``/system/secrets`` (``docs/openfaas.md#routes``): 200 or 202; 404 if missing; 405 where unsupported."""
    check_name(secret.name, "secret name")
    return Call("PUT", "/system/secrets", _status, json=secret.to_wire())


def delete_secret(name: str, namespace: str | None = None) -> Call[None]:
    """DELETE ``/system/secrets`` with ``{"name", "namespace"?}`` (``docs/openfaas.md#routes``)."""
    body = {"name": check_name(name, "secret name")}
    if namespace:
        body["namespace"] = check_name(namespace, "namespace")
    return Call("DELETE", "/system/secrets", _none, json=body)


def logs(
    name: str,
    namespace: str | None = None,
    *,
    instance: str | None = None,
    tail: int | None = None,
    follow: bool = False,
    since: datetime.datetime | None = None,
) -> Call[None]:
    """GET ``/system/logs`` (``docs/openfaas.md#logentry-and-log-query-parameters``,
    ``docs/openfaas.md#q6-log-errors-are-remapped``). ``parse`` only checks the status: the body is a stream the client
    reads line by line with :func:`parse_log_line`.

    :raises InvalidArgumentError: for a naive ``since`` (RFC 3339 needs a zone offset).
    """
    params: dict[str, str] = {"name": check_name(name)}
    if namespace:
        params["namespace"] = check_name(namespace, "namespace")
    if instance:
        params["instance"] = instance
    if tail is not None:
        params["tail"] = str(int(tail))
    params["follow"] = "true" if follow else "false"
    if since is not None:
        if since.tzinfo is None or since.utcoffset() is None:
            raise InvalidArgumentError("since must be an aware datetime (RFC 3339 with a zone offset)")
        params["since"] = since.isoformat()
    return Call("GET", "/system/logs", _none, params=params)


def parse_log_line(line: str) -> LogEntry | None:
    """One NDJSON line of the logs stream as a :class:`LogEntry`; ``None`` for a blank or
    unparseable line (skipped, as python-sdk does; the content type is not trusted,
    ``docs/openfaas.md#q6-log-errors-are-remapped``)."""
    from servey_faas.faas.client.models import LogEntry

    line = line.strip()
    if not line:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return LogEntry.from_wire(data) if isinstance(data, dict) else None


# --- invocation ----------------------------------------------------------------------------------


def _has_header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def _body(payload: Payload, headers: dict[str, str]) -> bytes | None:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if _has_header(headers, "content-type") is None:
        headers["Content-Type"] = "application/json"
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _sub_path(path: str) -> str:
    if not path or path == "/":
        return ""
    if "?" in path or "#" in path:
        raise InvalidArgumentError(f"path {path!r} must not carry a query or fragment; pass query= instead")
    return path if path.startswith("/") else f"/{path}"


def _with_query(path: str, query: Query | None) -> tuple[str, Query | None]:
    """``path`` and the params of a call: a query string already encoded goes on the path as it is
    (httpx would parse it and encode it again), a mapping stays params."""
    if isinstance(query, str):
        return (f"{path}?{query}" if query else path), None
    return path, query


def function_target(name: str, namespace: str) -> str:
    """``name.namespace``, the form the gateway splits at its last ``.`` (``docs/openfaas.md#passing-namespaces``)."""
    return f"{check_name(name)}.{check_name(namespace, 'namespace')}"


def invoke(
    name: str,
    payload: Payload = None,
    *,
    namespace: str,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    path: str = "",
    call_id: str | None = None,
    raise_for_status: bool = True,
    idempotent: bool = False,
    token: str | None = None,
) -> Call[httpx.Response]:
    """``{method} /function/NAME.NS[/path][?query]`` (``docs/openfaas.md#url-rules``). An ``X-Call-Id`` is
    generated unless one is given (``docs/openfaas.md#call-ids`` advises generating our own). ``parse`` returns the
    response, or raises :class:`FunctionError` for a non-2xx one when ``raise_for_status``.
    ``token`` is the end user's bearer token (:attr:`Call.bearer`)."""
    target = function_target(name, namespace)
    sent: dict[str, str] = dict(headers or {})
    given = _has_header(sent, "x-call-id")
    cid = given or call_id or str(uuid.uuid4())
    if given is None:
        sent["X-Call-Id"] = cid
    content = _body(payload, sent)
    path, query = _with_query(f"/function/{target}{_sub_path(path)}", query)

    def parse(response: httpx.Response) -> httpx.Response:
        if raise_for_status and not response.is_success:
            raise FunctionError(target, response.status_code, response.text, headers=response.headers, call_id=cid)
        return response

    return Call(
        method.upper(),
        path,
        parse,
        params=query,
        content=content,
        headers=sent,
        idempotent=idempotent,
        auth="function",
        function=(name, namespace),
        bearer=_token(token),
    )


def check_callback_url(url: str) -> str:
    """``url`` unchanged when it is an absolute http(s) URL.

    :raises InvalidArgumentError: otherwise: the gateway accepts relative URLs and the queue
        worker then fails silently (``docs/openfaas.md#enqueueing-an-async-call``), so they are refused here.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgumentError(f"callback_url must be an absolute http(s) URL, not {url!r}")
    return url


def invoke_async(
    name: str,
    payload: Payload = None,
    *,
    namespace: str,
    callback_url: str | None = None,
    call_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Query | None = None,
    path: str = "",
    token: str | None = None,
) -> Call[str]:
    """POST ``/async-function/NAME.NS[/path]`` with ``X-Callback-Url`` (``docs/openfaas.md#enqueueing-an-async-call``).
    ``parse`` returns the call id on 202 — the ``X-Call-Id`` the gateway answered, else the one we sent (generated
    unless given; a gateway echoes only an id it made itself, ``docs/openfaas.md#call-ids``) — else raises a status
    error (404 means the gateway has no async queue, ``docs/openfaas.md#q5-async-needs-nats``). ``token`` is the end
    user's bearer token (:attr:`Call.bearer`); the queue replays it when the call runs, so it must outlive the wait."""
    target = function_target(name, namespace)
    sent: dict[str, str] = dict(headers or {})
    given = _has_header(sent, "x-call-id")
    cid = given or call_id or str(uuid.uuid4())
    if given is None:
        sent["X-Call-Id"] = cid
    if callback_url is not None:
        sent["X-Callback-Url"] = check_callback_url(callback_url)
    content = _body(payload, sent)
    path, query = _with_query(f"/async-function/{target}{_sub_path(path)}", query)

    def parse(response: httpx.Response) -> str:
        if response.status_code == 404:
            error = status_error(response)
            raise NotFoundError(
                404,
                error.body or "async invocation is not enabled on this gateway (needs NATS)",
                method=error.method,
                url=error.url,
                headers=error.headers,
            )
        if not response.is_success:
            raise status_error(response)
        return response.headers.get("X-Call-Id") or cid

    return Call(
        "POST",
        path,
        parse,
        params=query,
        content=content,
        headers=sent,
        idempotent=False,
        auth="function",
        function=(name, namespace),
        bearer=_token(token),
    )


def _token(token: str | None) -> str | None:
    """``token`` unchanged when it can be sent as a bearer token (RFC 6750 §2.1: one b64token).

    :raises InvalidArgumentError: for an empty token, one with whitespace, or a whole
        ``Bearer ...`` header value.
    """
    if token is None:
        return None
    if not _B64TOKEN.match(token):
        raise InvalidArgumentError(
            "token must be the bearer token itself (RFC 6750 §2.1 b64token: letters, digits, -._~+/ and "
            "trailing =), without 'Bearer ' or whitespace"
        )
    return token
