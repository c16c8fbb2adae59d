"""The community-edition gateway's wire rules, as the gateway's routes (:mod:`~.app`), its proxy
and its IAM (:mod:`~.iam`) apply them: names, namespaces, headers and the exact error answers of
``docs/openfaas.md#gateway-rest-api`` and ``docs/openfaas.md#synchronous-invocation``, and the
OpenFaaS IAM wire answers of ``docs/openfaas.md#iam-and-function-tokens`` (the token endpoint's
OAuth errors, of-watchdog's ``jwt_auth`` 401/403 and its resource matching).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response

from servey_faas.faas.client.models import FunctionDeployment, FunctionStatus
from servey_faas.faas.wire import DEFAULT_NAMESPACE

#: The CE gateway version the gateways report (``X-Served-By``, ``/system/info``).
GATEWAY_VERSION = "0.27.0"
#: ``X-Served-By`` on invocation responses (``docs/openfaas.md#gateway-headers``).
SERVED_BY = f"openfaas-ce/{GATEWAY_VERSION}"
#: The CE async body limit (``docs/openfaas.md#enqueueing-an-async-call``): 256 * 1000 bytes; exactly 256,000 is
#: allowed.
ASYNC_BODY_LIMIT = 256_000
#: Headers never forwarded (hop-by-hop, ``docs/openfaas.md#gateway-headers``), plus those the HTTP client recomputes.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
#: The methods the provider proxy passes to a function; others get an empty 405
#: (``docs/openfaas.md#what-the-function-receives``).
INVOKE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
#: Go's answer for a route that does not exist (and for async without NATS, ``docs/openfaas.md#q5-async-needs-nats``).
PAGE_NOT_FOUND = "404 page not found\n"


def split_target(target: str, default_namespace: str = DEFAULT_NAMESPACE) -> tuple[str, str, str]:
    """``name[.ns][/sub/path]`` → ``(name, namespace, "/sub/path")``: the name is split at its
    **last** ``.`` (``docs/openfaas.md#passing-namespaces``); no sub-path, or a bare ``/``, is ``"/"``
    (``docs/openfaas.md#url-rules``)."""
    head, _, rest = target.partition("/")
    name, dot, namespace = head.rpartition(".")
    if not dot:
        name, namespace = head, default_namespace
    return name, namespace, "/" + rest


def basic_auth_denied(authorization: str, user: str, password: str) -> Response | None:
    """``None`` when the ``Authorization`` header value carries ``user:password`` as HTTP basic
    auth; otherwise the CE gateway's 401: ``WWW-Authenticate: Basic realm="Restricted"`` and the
    body ``invalid credentials`` without a trailing newline (``docs/openfaas.md#basic-auth-on-ce``). Compared in
    constant time."""
    scheme, _, encoded = authorization.partition(" ")
    given = b""
    if scheme.lower() == "basic":
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            given = b""
    if hmac.compare_digest(given, f"{user}:{password}".encode()):
        return None
    return Response("invalid credentials", 401, headers={"WWW-Authenticate": 'Basic realm="Restricted"'})


def function_status(
    spec: FunctionDeployment,
    *,
    created_at: datetime.datetime,
    replicas: int,
    available_replicas: int,
    invocation_count: float = 0.0,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> FunctionStatus:
    """The ``FunctionStatus`` the gateway reports for a deployed ``spec`` (``docs/openfaas.md#functionstatus``):
    the deployment's fields with ``name`` for ``service`` and the namespace filled in."""
    return FunctionStatus(
        name=spec.service,
        image=spec.image,
        namespace=spec.namespace or default_namespace,
        env_process=spec.env_process,
        env_vars=spec.env_vars,
        constraints=spec.constraints,
        secrets=spec.secrets,
        labels=spec.labels,
        annotations=spec.annotations,
        limits=spec.limits,
        requests=spec.requests,
        read_only_root_filesystem=spec.read_only_root_filesystem,
        invocation_count=invocation_count,
        replicas=replicas,
        available_replicas=available_replicas,
        created_at=created_at,
    )


def forwarded_headers(headers: Mapping[str, str], client: str) -> dict[str, str]:
    """The request headers a function receives (``docs/openfaas.md#gateway-headers``): every client header but the
    hop-by-hop ones; ``X-Forwarded-Host`` (the client's ``Host``) and ``X-Forwarded-For``
    (``ip:port`` of ``client``) only when the client sent none. ``headers`` are lower-case."""
    out = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
    out.setdefault("x-forwarded-host", headers.get("host", ""))
    if client:
        out.setdefault("x-forwarded-for", client)
    return out


def go_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool`` truth (``1``, ``t``, ``T``, ``TRUE``, ``true``, ``True``);
    anything else, unparseable included, is false (``docs/openfaas.md#logentry-and-log-query-parameters``,
    ``follow``)."""
    return value in ("1", "t", "T", "TRUE", "true", "True")


# --- OpenFaaS IAM (Enterprise) and of-watchdog jwt_auth (``docs/openfaas.md#iam-and-function-tokens``)
# ----------------------

#: The only ``grant_type`` of ``/oauth/token`` (RFC 8693 §2.1, ``docs/openfaas.md#token-exchange``).
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
#: The paths of a ``jwt_auth`` function the watchdog serves without a token
#: (``docs/openfaas.md#token-checks-in-of-watchdog``).
JWT_EXEMPT_PATHS = ("/_/health", "/_/ready")
_WATCHDOG_PLAIN = {"X-Content-Type-Options": "nosniff", "X-OpenFaaS-Internal": "faas-middleware"}


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """An OAuth error answer of the token endpoint: ``{"error", "error_description"}`` as JSON
    (RFC 6749 §5.2; the SDKs raise it as ``OAuthError``, ``docs/openfaas.md#token-exchange``)."""
    return JSONResponse({"error": error, "error_description": description}, status)


def exchange_form(body: bytes) -> dict[str, list[str]]:
    """The fields of a form-encoded ``/oauth/token`` body, repeated keys (``audience``) kept in order."""
    form: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, []).append(value)
    return form


def exchange_refused(form: Mapping[str, list[str]]) -> Response | None:
    """``None`` for a well-formed RFC 8693 exchange; otherwise its 400 OAuth error: another
    ``grant_type`` is ``unsupported_grant_type``, a missing ``subject_token`` ``invalid_request``
    (RFC 8693 §2.2.2)."""
    if form.get("grant_type", [""])[0] != TOKEN_EXCHANGE_GRANT:
        return oauth_error("unsupported_grant_type", "token-exchange only")
    if not form.get("subject_token", [""])[0]:
        return oauth_error("invalid_request", "subject_token is required")
    return None


def no_policies(subject: str) -> Response:
    """The Enterprise gateway's 400 for a subject it does not trust (``docs/openfaas.md#token-exchange``); only the
    first 8 characters of the subject are echoed."""
    return oauth_error("invalid_request", f"No policies found for subject: {subject[:8]}…")


def jwt_missing() -> Response:
    """of-watchdog's 401 when ``Authorization`` has no ``Bearer `` token
    (``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    return _watchdog_answer(401, "Bearer must be present in Authorization header")


def jwt_invalid(reason: str) -> Response:
    """of-watchdog's 401 for a token that does not verify (signature, ``kid``, ``iss``, ``aud``,
    expiry): ``failed to parse JWT token: <reason>`` (``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    return _watchdog_answer(401, f"failed to parse JWT token: {reason}")


def jwt_forbidden() -> Response:
    """of-watchdog's 403 for a valid token whose ``function`` claim does not allow this function
    (``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    return _watchdog_answer(403, "insufficient permissions")


def _watchdog_answer(status: int, text: str) -> Response:
    headers = dict(_WATCHDOG_PLAIN)
    if status == 401:
        # unquoted, as the watchdog (``docs/openfaas.md#token-checks-in-of-watchdog``)
        headers["WWW-Authenticate"] = "Bearer realm=IAM function invoke"
    return Response(text + "\n", status, headers=headers, media_type="text/plain; charset=utf-8")


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` value; ``""`` otherwise. The prefix is
    case-sensitive, as the watchdog's (``bearer x`` has no token, ``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    return authorization[len("Bearer ") :].strip() if authorization.startswith("Bearer ") else ""


def resource_matches(entry: str, target: str) -> bool:
    """Whether an IAM resource ``entry`` (``*``, ``ns:*``, ``ns:name``) matches ``target``
    (``"<namespace>:<name>"``) as faas-middleware does: ``*`` matches everything, any other ``*``
    is a wildcard, and the match is **unanchored** (a substring regex: ``openfaas-fn:echo``
    matches ``openfaas-fn:echo-fn``; ``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    if entry == "*":
        return True
    pattern = ".*".join(re.escape(part) for part in entry.split("*"))
    return re.search(pattern, target) is not None


def function_claim_allows(claim: object, namespace: str, name: str) -> bool:
    """Whether a token's ``function`` claim (``{"permissions": [...], "audience": [...]}``) lets
    its bearer invoke ``name`` in ``namespace`` (``docs/openfaas.md#token-checks-in-of-watchdog``): an empty or absent
    ``audience`` allows any function, otherwise one entry must match; ``permissions`` must have a
    match. A missing or malformed claim allows nothing."""
    if not isinstance(claim, Mapping):
        return False
    target = f"{namespace}:{name}"
    audience, permissions = claim.get("audience") or [], claim.get("permissions") or []
    if not isinstance(audience, list) or not isinstance(permissions, list):
        return False
    if audience and not any(isinstance(a, str) and resource_matches(a, target) for a in audience):
        return False
    return any(isinstance(p, str) and resource_matches(p, target) for p in permissions)
