"""The local OpenFaaS gateway (``python -m servey_faas --run=gateway``): the gateway REST API of
``docs/openfaas.md#gateway-rest-api`` and ``docs/openfaas.md#synchronous-invocation`` over functions run from their
build contexts as local processes. A development and test tool, as LocalStack is for AWS; not a production engine.

The gateway's wire behaviour is written once, over a provider: the local gateway's processes here,
the in-memory functions of :class:`servey_faas.testing.FakeGateway` in the tests.

Modules: :mod:`~.app` (the ASGI app and its routes, over a provider), :mod:`~.provider` (what a
provider does), :mod:`~.local` (the local gateway: its provider and its assembly), :mod:`~.proxy`
(synchronous invocation), :mod:`~.queue` (the durable async queue, SQLite) and :mod:`~.worker`
(the queue-worker, its callbacks and optional retries with backoff as the Pro queue-worker's,
``docs/openfaas.md#pro-queue-worker-retries``), :mod:`~.processes` (function replicas as
processes), :mod:`~.state` (deployments and secrets under the state folder), :mod:`~.logs`
(function logs), :mod:`~.credentials` (basic auth), :mod:`~.iam` (OpenFaaS IAM: ``/oauth/token``,
OIDC discovery, JWKS, ``jwt_auth`` checks, ``docs/openfaas.md#iam-and-function-tokens``),
:mod:`~.protocol` (CE wire rules: names, headers, exact error answers), :mod:`~.cron` (the
cron-connector, ``docs/openfaas.md#cron-connector``), :mod:`~.environment` (``OPENFAAS_URL`` of
the functions), :mod:`~.pyenv` (the Python environment of each function, from its build context's
requirements).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servey_faas.faas.gateway.app import GatewayApp
    from servey_faas.faas.gateway.credentials import BasicCredentials
    from servey_faas.faas.gateway.local import Gateway, GatewayConfig
    from servey_faas.faas.gateway.provider import Provider

__all__ = ["BasicCredentials", "Gateway", "GatewayApp", "GatewayConfig", "Provider"]

# Imported on first use (PEP 562): the fake gateway of the tests needs neither processes nor the state folder.
_HOMES = {
    "BasicCredentials": "servey_faas.faas.gateway.credentials",
    "Gateway": "servey_faas.faas.gateway.local",
    "GatewayApp": "servey_faas.faas.gateway.app",
    "GatewayConfig": "servey_faas.faas.gateway.local",
    "Provider": "servey_faas.faas.gateway.provider",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
