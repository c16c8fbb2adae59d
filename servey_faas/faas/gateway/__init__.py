"""The local OpenFaaS gateway (``python -m servey_faas --run=gateway``): the gateway REST API of
``docs/openfaas.md#gateway-rest-api`` and ``docs/openfaas.md#synchronous-invocation`` over functions run from their
build contexts as local processes. A development and test tool, as LocalStack is for AWS; not a production engine.

Modules: :mod:`~.app` (the ASGI app and its routes), :mod:`~.proxy` (synchronous invocation),
:mod:`~.queue` (the durable async queue, SQLite) and :mod:`~.worker` (the queue-worker, its
callbacks and optional retries with backoff as the Pro queue-worker's, ``docs/openfaas.md#pro-queue-worker-retries``),
:mod:`~.processes` (function replicas as processes), :mod:`~.state` (deployments and secrets under the state folder),
:mod:`~.logs` (function logs), :mod:`~.credentials` (basic auth), :mod:`~.iam` (OpenFaaS IAM: ``/oauth/token``, OIDC
discovery, JWKS, ``jwt_auth`` checks, ``docs/openfaas.md#iam-and-function-tokens``), :mod:`~.protocol` (CE wire
behaviour shared with the tests' fake gateway), :mod:`~.cron` (the cron-connector, ``docs/openfaas.md#cron-connector``),
:mod:`~.environment` (``OPENFAAS_URL`` of the functions), :mod:`~.pyenv` (the Python environment of each function, from
its build context's requirements).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servey_faas.faas.gateway.app import Gateway, GatewayConfig
    from servey_faas.faas.gateway.credentials import BasicCredentials

__all__ = ["BasicCredentials", "Gateway", "GatewayConfig"]

# Imported on first use (PEP 562): the fake gateway of the tests imports only .protocol.
_HOMES = {
    "BasicCredentials": "servey_faas.faas.gateway.credentials",
    "Gateway": "servey_faas.faas.gateway.app",
    "GatewayConfig": "servey_faas.faas.gateway.app",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
