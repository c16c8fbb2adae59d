"""The community-edition gateway's wire behaviour that the local gateway and the fake gateway of
the tests (``servey_faas.faas._fake_gateway``) share: names, namespaces, headers and the exact
error answers of CONTRACTS.md §1-2.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
from collections.abc import Mapping

from starlette.responses import Response

from servey_faas.faas._models import FunctionDeployment, FunctionStatus

#: The provider's default (and, on CE, only) function namespace (CONTRACTS.md §1.4).
DEFAULT_NAMESPACE = "openfaas-fn"
#: The CE gateway version the gateways report (``X-Served-By``, ``/system/info``).
GATEWAY_VERSION = "0.27.0"
#: ``X-Served-By`` on invocation responses (CONTRACTS.md §1.5).
SERVED_BY = f"openfaas-ce/{GATEWAY_VERSION}"
#: The CE async body limit (CONTRACTS.md §3.1): 256 * 1000 bytes; exactly 256,000 is allowed.
ASYNC_BODY_LIMIT = 256_000
#: Headers never forwarded (hop-by-hop, CONTRACTS.md §1.5), plus those the HTTP client recomputes.
HOP_BY_HOP = frozenset(
    {"connection", "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip
#: The methods the provider proxy passes to a function; others get an empty 405 (CONTRACTS.md §2.3).
INVOKE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
#: Go's answer for a route that does not exist (and for async without NATS, §1.8 Q5).
PAGE_NOT_FOUND = "404 page not found\n"


def split_target(target: str, default_namespace: str = DEFAULT_NAMESPACE) -> tuple[str, str, str]:
    """``name[.ns][/sub/path]`` → ``(name, namespace, "/sub/path")``: the name is split at its
    **last** ``.`` (CONTRACTS.md §1.4); no sub-path, or a bare ``/``, is ``"/"`` (§2.1)."""
    head, _, rest = target.partition("/")
    name, dot, namespace = head.rpartition(".")
    if not dot:
        name, namespace = head, default_namespace
    return name, namespace, "/" + rest


def basic_auth_denied(authorization: str, user: str, password: str) -> Response | None:
    """``None`` when the ``Authorization`` header value carries ``user:password`` as HTTP basic
    auth; otherwise the CE gateway's 401: ``WWW-Authenticate: Basic realm="Restricted"`` and the
    body ``invalid credentials`` without a trailing newline (CONTRACTS.md §1.6). Compared in
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
    """The ``FunctionStatus`` the gateway reports for a deployed ``spec`` (CONTRACTS.md §1.3):
    the deployment's fields with ``name`` for ``service`` and the namespace filled in."""
    return FunctionStatus(
        name=spec.service, image=spec.image, namespace=spec.namespace or default_namespace,
        env_process=spec.env_process, env_vars=spec.env_vars, constraints=spec.constraints, secrets=spec.secrets,
        labels=spec.labels, annotations=spec.annotations, limits=spec.limits, requests=spec.requests,
        read_only_root_filesystem=spec.read_only_root_filesystem, invocation_count=invocation_count,
        replicas=replicas, available_replicas=available_replicas, created_at=created_at,
    )  # fmt: skip


def forwarded_headers(headers: Mapping[str, str], client: str) -> dict[str, str]:
    """The request headers a function receives (CONTRACTS.md §1.5): every client header but the
    hop-by-hop ones; ``X-Forwarded-Host`` (the client's ``Host``) and ``X-Forwarded-For``
    (``ip:port`` of ``client``) only when the client sent none. ``headers`` are lower-case."""
    out = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
    out.setdefault("x-forwarded-host", headers.get("host", ""))
    if client:
        out.setdefault("x-forwarded-for", client)
    return out


def go_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool`` truth (``1``, ``t``, ``T``, ``TRUE``, ``true``, ``True``);
    anything else, unparseable included, is false (CONTRACTS.md §1.3, ``follow``)."""
    return value in ("1", "t", "T", "TRUE", "true", "True")
