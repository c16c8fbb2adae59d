"""The OpenFaaS side of servey_faas: the gateway client, its auth, and remote action proxies.

``GatewayClient`` / ``AsyncGatewayClient`` speak the gateway REST API (CONTRACTS.md §1-3, §7);
``BasicAuth``, ``TokenAuth`` and the token sources authenticate them as the official OpenFaaS
SDKs do (§7, §9); the wire types are frozen dataclasses; ``remote()`` calls a deployed action
like the local function. Importing this package starts nothing, reads no file and imports nothing heavy: each name is
imported on first use (PEP 562), so a function container that never calls the gateway does not
pay for httpx.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from servey_faas.faas.client._auth import BasicAuth, BearerTokenAuth, TokenAuth
    from servey_faas.faas.client._client import SAVED_CREDENTIALS, AsyncGatewayClient, GatewayClient
    from servey_faas.faas.client._credentials import faas_cli_config_path, normalize_gateway_url, saved_auth
    from servey_faas.faas.client._errors import (
        ConflictError,
        ForbiddenError,
        FunctionError,
        GatewayConnectionError,
        GatewayServerError,
        GatewayStatusError,
        GatewayTimeoutError,
        IamNotAvailableError,
        InvalidArgumentError,
        InvalidRequestError,
        NotFoundError,
        OAuthError,
        UnauthorizedError,
    )
    from servey_faas.faas.client._remote import RemoteAction, remote
    from servey_faas.faas.client._retries import RetryPolicy
    from servey_faas.faas.client._tokens import (
        ClientCredentialsTokenSource,
        MemoryTokenCache,
        ServiceAccountTokenSource,
        Token,
        TokenCache,
        TokenSource,
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
    "GatewayInfo",
    "GatewayServerError",
    "GatewayStatusError",
    "GatewayTimeoutError",
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
    "AsyncGatewayClient": "servey_faas.faas.client._client",
    "BasicAuth": "servey_faas.faas.client._auth",
    "BearerTokenAuth": "servey_faas.faas.client._auth",
    "ClientCredentialsTokenSource": "servey_faas.faas.client._tokens",
    "ConflictError": "servey_faas.faas.client._errors",
    "ForbiddenError": "servey_faas.faas.client._errors",
    "FunctionDeployment": "servey_faas.faas.client.models",
    "FunctionError": "servey_faas.faas.client._errors",
    "FunctionNamespace": "servey_faas.faas.client.models",
    "FunctionResources": "servey_faas.faas.client.models",
    "FunctionStatus": "servey_faas.faas.client.models",
    "FunctionUsage": "servey_faas.faas.client.models",
    "GatewayClient": "servey_faas.faas.client._client",
    "GatewayConnectionError": "servey_faas.faas.client._errors",
    "GatewayInfo": "servey_faas.faas.client.models",
    "GatewayServerError": "servey_faas.faas.client._errors",
    "GatewayStatusError": "servey_faas.faas.client._errors",
    "GatewayTimeoutError": "servey_faas.faas.client._errors",
    "IamNotAvailableError": "servey_faas.faas.client._errors",
    "InvalidArgumentError": "servey_faas.faas.client._errors",
    "InvalidRequestError": "servey_faas.faas.client._errors",
    "LogEntry": "servey_faas.faas.client.models",
    "MemoryTokenCache": "servey_faas.faas.client._tokens",
    "NotFoundError": "servey_faas.faas.client._errors",
    "OAuthError": "servey_faas.faas.client._errors",
    "ProviderInfo": "servey_faas.faas.client.models",
    "RemoteAction": "servey_faas.faas.client._remote",
    "RetryPolicy": "servey_faas.faas.client._retries",
    "SAVED_CREDENTIALS": "servey_faas.faas.client._client",
    "Secret": "servey_faas.faas.client.models",
    "ServiceAccountTokenSource": "servey_faas.faas.client._tokens",
    "Token": "servey_faas.faas.client._tokens",
    "TokenAuth": "servey_faas.faas.client._auth",
    "TokenCache": "servey_faas.faas.client._tokens",
    "TokenSource": "servey_faas.faas.client._tokens",
    "UnauthorizedError": "servey_faas.faas.client._errors",
    "VersionInfo": "servey_faas.faas.client.models",
    "faas_cli_config_path": "servey_faas.faas.client._credentials",
    "normalize_gateway_url": "servey_faas.faas.client._credentials",
    "remote": "servey_faas.faas.client._remote",
    "saved_auth": "servey_faas.faas.client._credentials",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
