"""The OpenFaaS side of servey_faas: the gateway client, its auth, and remote action proxies.

``GatewayClient`` / ``AsyncGatewayClient`` speak the gateway REST API (``docs/openfaas.md#gateway-rest-api``,
``docs/openfaas.md#synchronous-invocation``, ``docs/openfaas.md#asynchronous-invocation-and-callbacks``,
``docs/openfaas.md#iam-and-function-tokens``); ``BasicAuth``, ``TokenAuth`` and the token sources authenticate them as
the official OpenFaaS SDKs do (``docs/openfaas.md#iam-and-function-tokens``,
``docs/openfaas.md#python-sdk-vocabulary``); the wire types are frozen dataclasses; ``remote()`` calls a deployed action
like the local function. Importing this package starts nothing, reads no file and imports nothing heavy: each name is
imported on first use (PEP 562), so a function container that never calls the gateway does not pay for httpx.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from servey_faas.faas.client import (
        SAVED_CREDENTIALS,
        AsyncGatewayClient,
        BasicAuth,
        BearerTokenAuth,
        ClientCredentialsTokenSource,
        ConflictError,
        FunctionError,
        GatewayClient,
        GatewayConnectionError,
        GatewayForbiddenError,
        GatewayServerError,
        GatewayStatusError,
        GatewayTimeoutError,
        GatewayUnauthorizedError,
        IamNotAvailableError,
        InvalidArgumentError,
        InvalidRequestError,
        MemoryTokenCache,
        NotFoundError,
        OAuthError,
        RemoteAction,
        RetryPolicy,
        ServiceAccountTokenSource,
        Token,
        TokenAuth,
        TokenCache,
        TokenSource,
        faas_cli_config_path,
        normalize_gateway_url,
        remote,
        saved_auth,
    )
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
    "SAVED_CREDENTIALS",
    "AsyncGatewayClient",
    "BasicAuth",
    "BearerTokenAuth",
    "ClientCredentialsTokenSource",
    "ConflictError",
    "ForbiddenError",
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
    "UnauthorizedError",
    "VersionInfo",
    "faas_cli_config_path",
    "normalize_gateway_url",
    "remote",
    "saved_auth",
]

_HOMES = {
    "AsyncGatewayClient": "servey_faas.faas.client",
    "BasicAuth": "servey_faas.faas.client",
    "BearerTokenAuth": "servey_faas.faas.client",
    "ClientCredentialsTokenSource": "servey_faas.faas.client",
    "ConflictError": "servey_faas.faas.client",
    "GatewayForbiddenError": "servey_faas.faas.client",
    "FunctionDeployment": "servey_faas.faas.client",
    "FunctionError": "servey_faas.faas.client",
    "FunctionNamespace": "servey_faas.faas.client",
    "FunctionResources": "servey_faas.faas.client",
    "FunctionStatus": "servey_faas.faas.client",
    "FunctionUsage": "servey_faas.faas.client",
    "GatewayClient": "servey_faas.faas.client",
    "GatewayConnectionError": "servey_faas.faas.client",
    "GatewayInfo": "servey_faas.faas.client",
    "GatewayServerError": "servey_faas.faas.client",
    "GatewayStatusError": "servey_faas.faas.client",
    "GatewayTimeoutError": "servey_faas.faas.client",
    "IamNotAvailableError": "servey_faas.faas.client",
    "InvalidArgumentError": "servey_faas.faas.client",
    "InvalidRequestError": "servey_faas.faas.client",
    "LogEntry": "servey_faas.faas.client",
    "MemoryTokenCache": "servey_faas.faas.client",
    "NotFoundError": "servey_faas.faas.client",
    "OAuthError": "servey_faas.faas.client",
    "ProviderInfo": "servey_faas.faas.client",
    "RemoteAction": "servey_faas.faas.client",
    "RetryPolicy": "servey_faas.faas.client",
    "SAVED_CREDENTIALS": "servey_faas.faas.client",
    "Secret": "servey_faas.faas.client",
    "ServiceAccountTokenSource": "servey_faas.faas.client",
    "Token": "servey_faas.faas.client",
    "TokenAuth": "servey_faas.faas.client",
    "TokenCache": "servey_faas.faas.client",
    "TokenSource": "servey_faas.faas.client",
    "GatewayUnauthorizedError": "servey_faas.faas.client",
    "VersionInfo": "servey_faas.faas.client",
    "faas_cli_config_path": "servey_faas.faas.client",
    "normalize_gateway_url": "servey_faas.faas.client",
    "remote": "servey_faas.faas.client",
    "saved_auth": "servey_faas.faas.client",
}


#: The names these errors had before 0.2 (they shadowed servey_faas.errors' access errors):
#: kept for one release.
_RENAMED = {"ForbiddenError": "GatewayForbiddenError", "UnauthorizedError": "GatewayUnauthorizedError"}


def __getattr__(name: str) -> object:
    if name in _RENAMED:
        globals()[name] = renamed = __getattr__(_RENAMED[name])
        return renamed
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
