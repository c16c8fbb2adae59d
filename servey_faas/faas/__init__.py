"""The OpenFaaS side of servey_faas: the gateway client, its auth, and remote action proxies.

``GatewayClient`` / ``AsyncGatewayClient`` speak the gateway REST API (CONTRACTS.md §1-3, §7);
``BasicAuth``, ``TokenAuth`` and the token sources authenticate them as the official OpenFaaS
SDKs do (§7, §9); the wire types are frozen dataclasses; ``remote()`` calls a deployed action
like the local function. Importing this package starts nothing and reads no file.
"""

from servey_faas.faas._auth import BasicAuth, BearerTokenAuth, TokenAuth
from servey_faas.faas._client import SAVED_CREDENTIALS, AsyncGatewayClient, GatewayClient
from servey_faas.faas._credentials import faas_cli_config_path, normalize_gateway_url, saved_auth
from servey_faas.faas._errors import (
    ConflictError,
    ForbiddenError,
    FunctionError,
    GatewayConnectionError,
    GatewayServerError,
    GatewayStatusError,
    GatewayTimeoutError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    OAuthError,
    UnauthorizedError,
)
from servey_faas.faas._models import (
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
from servey_faas.faas._remote import RemoteAction, remote
from servey_faas.faas._retries import RetryPolicy
from servey_faas.faas._tokens import (
    ClientCredentialsTokenSource,
    MemoryTokenCache,
    ServiceAccountTokenSource,
    Token,
    TokenCache,
    TokenSource,
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
