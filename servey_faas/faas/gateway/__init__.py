"""The local OpenFaaS gateway (``python -m servey_faas --run=gateway``): the gateway REST API of
CONTRACTS.md §1-2 over functions run from their build contexts as local processes. A development
and test tool, as LocalStack is for AWS; not a production engine.

Modules: :mod:`~.app` (the ASGI app and its routes), :mod:`~.proxy` (invocation),
:mod:`~.processes` (function replicas as processes), :mod:`~.state` (deployments and secrets
under the state folder), :mod:`~.logs` (function logs), :mod:`~.credentials` (basic auth),
:mod:`~.protocol` (CE wire behaviour shared with the tests' fake gateway).
"""

from __future__ import annotations

from servey_faas.faas.gateway.app import Gateway, GatewayConfig
from servey_faas.faas.gateway.credentials import BasicCredentials

__all__ = ["BasicCredentials", "Gateway", "GatewayConfig"]
