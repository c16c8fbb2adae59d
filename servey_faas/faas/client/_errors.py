"""The errors the gateway client raises, under :mod:`servey_faas.errors`::

    ServeyFaasError
     ├── GatewayError                   (servey_faas.errors) the gateway refused or could not be reached
     │    ├── GatewayStatusError         a non-2xx answer to a /system/* or /async-function call
     │    │    ├── InvalidRequestError    400: the gateway or provider rejected the request body
     │    │    ├── GatewayUnauthorizedError      401: missing or wrong credentials
     │    │    ├── GatewayForbiddenError         403: the credentials lack a permission
     │    │    ├── NotFoundError          404: no such function, secret or namespace
     │    │    │    └── IamNotAvailableError  404 from /oauth/token: the gateway has no OpenFaaS IAM
     │    │    ├── ConflictError          409: it exists already (e.g. a secret)
     │    │    └── GatewayServerError     5xx: the gateway or provider failed
     │    ├── GatewayConnectionError     no HTTP answer at all (refused, reset, protocol error)
     │    │    └── GatewayTimeoutError    no answer within the configured timeout
     │    └── OAuthError                 the token endpoint answered 400 with an RFC 6749 error
     ├── InvocationError                (servey_faas.errors)
     │    └── FunctionError              a deployed function (or the platform in front of it) answered non-2xx
     └── InvalidArgumentError           a call was made with an argument the gateway cannot take

Status errors carry ``status_code``, ``body`` (text), ``headers``, ``method`` and ``url``; their
message includes the body, shortened. Sources: ``docs/openfaas.md#routes`` (status codes),
``docs/openfaas.md#responses-and-platform-errors`` (platform errors), ``docs/openfaas.md#token-exchange`` (OAuth
errors), ``docs/openfaas.md#python-sdk-vocabulary`` (the python-sdk's exception names).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from servey_faas.errors import GatewayError, InvocationError, ServeyFaasError

_MAX_BODY_IN_MESSAGE = 500


def _short(body: str) -> str:
    body = body.strip()
    return body if len(body) <= _MAX_BODY_IN_MESSAGE else body[:_MAX_BODY_IN_MESSAGE] + "…"


class InvalidArgumentError(ServeyFaasError, ValueError):
    """An argument the gateway cannot take: a function name containing ``.`` (the namespace
    separator, ``docs/openfaas.md#passing-namespaces``), a naive ``since`` datetime
    (``docs/openfaas.md#logentry-and-log-query-parameters``), a relative callback URL
    (``docs/openfaas.md#enqueueing-an-async-call``)…"""

    exit_code = 2


class GatewayStatusError(GatewayError):
    """The gateway answered a non-2xx status. ``body`` is the response text (may be empty)."""

    def __init__(self, status_code: int, body: str, *, method: str, url: str, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.url = url
        self.headers: dict[str, str] = dict(headers)
        detail = f": {_short(body)}" if body.strip() else ""
        super().__init__(f"{method} {url} answered {status_code}{detail}")


class InvalidRequestError(GatewayStatusError):
    """400: the gateway or provider rejected the request (e.g. a negative replica count,
    ``docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest``)."""


class GatewayUnauthorizedError(GatewayStatusError):
    """401: missing or invalid credentials (basic auth on ``/system/*``, ``docs/openfaas.md#basic-auth-on-ce``; IAM,
    ``docs/openfaas.md#iam-and-function-tokens``)."""


class GatewayForbiddenError(GatewayStatusError):
    """403: valid credentials without the permission asked for (IAM policies,
    ``docs/openfaas.md#gateway-tokens-and-function-tokens``)."""


class NotFoundError(GatewayStatusError):
    """404: no such function, secret or namespace; also ``/async-function`` without NATS
    (``docs/openfaas.md#q5-async-needs-nats``)."""


class IamNotAvailableError(NotFoundError):
    """404 from the gateway's token endpoint ``/oauth/token``: the gateway has no OpenFaaS IAM.
    Token exchange and scoped function tokens are OpenFaaS IAM, part of OpenFaaS Enterprise (the
    Community Edition answers 404 there; https://docs.openfaas.com/openfaas-pro/iam/overview/);
    servey_faas's local gateway (``--run=gateway``) has them too. The message says so, and how to
    deploy without them."""

    def __init__(self, status_code: int, body: str, *, method: str, url: str, headers: Mapping[str, str]) -> None:
        super().__init__(status_code, body, method=method, url=url, headers=headers)
        self.args = (
            f"{method} {url} answered {status_code}: this gateway has no OpenFaaS IAM. Scoped function tokens "
            "(function auth, jwt_auth=true) need OpenFaaS IAM, part of OpenFaaS Enterprise, or servey_faas's "
            "local gateway (--run=gateway). On OpenFaaS CE, deploy without --function-auth "
            "(and without function_auth in [tool.servey_faas.build]).",
        )


class ConflictError(GatewayStatusError):
    """409: the object exists already (POST ``/system/secrets``, ``docs/openfaas.md#routes``)."""


class GatewayServerError(GatewayStatusError):
    """5xx: the gateway or the provider failed (502 provider unreachable or timed out,
    ``docs/openfaas.md#gateway-configuration-and-timeouts``)."""


class GatewayConnectionError(GatewayError):
    """No HTTP answer: the connection was refused, reset or broke mid-response."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        self.method = method
        self.url = url
        super().__init__(f"{method} {url}: {message}")


class GatewayTimeoutError(GatewayConnectionError):
    """No answer within the client's timeout (seconds, see ``GatewayClient(timeout=)``)."""


class OAuthError(GatewayError):
    """The token endpoint refused a token request with an RFC 6749 §5.2 error (``docs/openfaas.md#token-exchange``):
    ``error`` (e.g. ``invalid_request``, or ``unknown_error`` when the 400 body is not JSON) and
    ``error_description``. Message: ``error: error_description``, as the SDKs word it."""

    def __init__(self, error: str, error_description: str = "", *, status_code: int = 400) -> None:
        self.error = error
        self.error_description = error_description
        self.status_code = status_code
        super().__init__(f"{error}: {error_description}" if error_description else error)


class FunctionError(InvocationError):
    """A deployed function answered non-2xx, or the platform in front of it did
    (``docs/openfaas.md#responses-and-platform-errors``).

    ``function`` is ``name.namespace``; ``status_code``, ``body`` (text) and ``headers`` are the
    response's; ``call_id`` the ``X-Call-Id`` sent; ``internal`` the ``X-OpenFaaS-Internal``
    header (``proxy``, ``of-watchdog``, ``faas-middleware``) when the platform produced the error,
    else ``None``.
    """

    def __init__(
        self, function: str, status_code: int, body: str, *, headers: Mapping[str, str], call_id: str | None
    ) -> None:
        self.function = function
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = dict(headers)
        self.call_id = call_id
        self.internal: str | None = self.headers.get("x-openfaas-internal")
        origin = f" ({self.internal})" if self.internal else ""
        detail = f": {_short(body)}" if body.strip() else ""
        super().__init__(f"function {function} answered {status_code}{origin}{detail}")

    @property
    def is_platform_error(self) -> bool:
        """True when OpenFaaS, not the function, produced the error: an ``X-OpenFaaS-Internal``
        header, or the gateway's empty 502 (``docs/openfaas.md#responses-and-platform-errors``)."""
        return self.internal is not None or (self.status_code == 502 and not self.body)


_STATUS_ERRORS: dict[int, type[GatewayStatusError]] = {
    400: InvalidRequestError,
    401: GatewayUnauthorizedError,
    403: GatewayForbiddenError,
    404: NotFoundError,
    409: ConflictError,
}


def status_error(response: httpx.Response) -> GatewayStatusError:
    """The :class:`GatewayStatusError` subclass for a read non-2xx ``response``."""
    code = response.status_code
    cls = _STATUS_ERRORS.get(code) or (GatewayServerError if code >= 500 else GatewayStatusError)
    request = response.request
    return cls(code, response.text, method=request.method, url=str(request.url), headers=response.headers)


def transport_error(error: httpx.TransportError) -> GatewayConnectionError:
    """The :class:`GatewayConnectionError` (or timeout) for an httpx transport failure."""
    try:
        request = error.request
        method, url = request.method, str(request.url)
    except RuntimeError:  # no request attached
        method, url = "?", "?"
    cls = GatewayTimeoutError if isinstance(error, httpx.TimeoutException) else GatewayConnectionError
    return cls(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, method=method, url=url)
