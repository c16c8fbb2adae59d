"""The OpenFaaS gateway client: ``GatewayClient`` / ``AsyncGatewayClient`` on httpx, its auth and
token sources, the gateway's wire models (:mod:`~servey_faas.faas.client.models`), its errors, and
``remote()`` proxies of deployed actions. Its public names are re-exported by :mod:`servey_faas.faas`.

Nothing here imports the deploy side, the local gateway or the function runtime.

The wire models are imported on first use (PEP 562): an ``api`` router that only invokes functions
never builds their dataclasses (about 4 ms of its cold start by ``python -X importtime``; see
``bench/README.md``, cold start).
"""

from __future__ import annotations

import typing as _typing

from servey_faas.faas.client._auth import (
    BasicAuth,
    BearerTokenAuth,
    TokenAuth,
)
from servey_faas.faas.client._client import (
    SAVED_CREDENTIALS,
    AsyncGatewayClient,
    GatewayClient,
)
from servey_faas.faas.client._credentials import (
    faas_cli_config_path,
    normalize_gateway_url,
    save_basic_auth,
    saved_auth,
)
from servey_faas.faas.client._errors import (
    ConflictError,
    FunctionError,
    GatewayConnectionError,
    GatewayForbiddenError,
    GatewayServerError,
    GatewayStatusError,
    GatewayTimeoutError,
    GatewayUnauthorizedError,
    IamNotAvailableError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    OAuthError,
)
from servey_faas.faas.client._remote import (
    RemoteAction,
    remote,
)
from servey_faas.faas.client._retries import (
    RetryPolicy,
    retry_after,
)
from servey_faas.faas.client._tokens import (
    ClientCredentialsTokenSource,
    MemoryTokenCache,
    ServiceAccountTokenSource,
    Token,
    TokenCache,
    TokenSource,
)
from servey_faas.faas.wire import DEFAULT_GATEWAY_URL, DEFAULT_NAMESPACE, USER_AUTHORIZATION_HEADER

if _typing.TYPE_CHECKING:
    from servey_faas.faas.client.models import (
        FunctionDeployment,
        FunctionNamespace,
        FunctionResources,
        FunctionStatus,
        FunctionUsage,
        GatewayInfo,
        LogEntry,
        ProviderInfo,
        Secret,
        VersionInfo,
    )

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_NAMESPACE",
    "SAVED_CREDENTIALS",
    "USER_AUTHORIZATION_HEADER",
    "AsyncGatewayClient",
    "BasicAuth",
    "BearerTokenAuth",
    "ClientCredentialsTokenSource",
    "ConflictError",
    "FunctionDeployment",
    "FunctionError",
    "FunctionNamespace",
    "FunctionResources",
    "FunctionStatus",
    "FunctionUsage",
    "GatewayClient",
    "GatewayConnectionError",
    "GatewayForbiddenError",
    "GatewayInfo",
    "GatewayServerError",
    "GatewayStatusError",
    "GatewayTimeoutError",
    "GatewayUnauthorizedError",
    "IamNotAvailableError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "LogEntry",
    "MemoryTokenCache",
    "NotFoundError",
    "OAuthError",
    "ProviderInfo",
    "RemoteAction",
    "RetryPolicy",
    "Secret",
    "ServiceAccountTokenSource",
    "Token",
    "TokenAuth",
    "TokenCache",
    "TokenSource",
    "VersionInfo",
    "faas_cli_config_path",
    "normalize_gateway_url",
    "remote",
    "retry_after",
    "save_basic_auth",
    "saved_auth",
]

#: The names of :mod:`~servey_faas.faas.client.models`, imported on first use.
_MODELS = frozenset(
    {
        "FunctionDeployment",
        "FunctionNamespace",
        "FunctionResources",
        "FunctionStatus",
        "FunctionUsage",
        "GatewayInfo",
        "LogEntry",
        "ProviderInfo",
        "Secret",
        "VersionInfo",
    }
)


def __getattr__(name: str) -> object:
    if name not in _MODELS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from servey_faas.faas.client import models

    value = getattr(models, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
