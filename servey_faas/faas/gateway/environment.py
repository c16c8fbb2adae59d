"""What the local gateway changes in a function's environment so that it runs as a process on
this machine as it would in a container: where it finds the gateway (``OPENFAAS_URL``) and its
secrets (``/var/openfaas/secrets``).

Secrets: a provider mounts each secret a function lists at ``/var/openfaas/secrets/<name>``
(https://docs.openfaas.com/reference/secrets/). The local gateway writes them into a folder of its
state directory instead and sets ``secret_mount_path`` to it (read by ``read_secret``, as the
OpenFaaS SDKs do); an environment value naming a file under ``/var/openfaas/secrets/`` (such as
``JWT_SECRET_KEY_FILE=/var/openfaas/secrets/jwt-secret-key``, written by ``--run=build``) is
pointed at the same file in that folder, as a bind mount would.

Gateway URL:

The packager gives every function ``OPENFAAS_URL=http://gateway.openfaas:8080``
(``BuildOptions.router_gateway``), the gateway's in-cluster address: the router and background
channels call the other functions through it. That name does not resolve outside a cluster, so
the local gateway points it at itself when it starts a replica:

* ``OPENFAAS_URL`` naming the in-cluster gateway (``http`` on port 8080 of ``gateway.openfaas``,
  ``gateway.openfaas.svc`` or ``gateway.openfaas.svc.cluster.local``), or not set by the
  deployment at all (a function in a cluster then falls back to that same in-cluster address),
  becomes the local gateway's own base URL;
* any other value is kept as deployed: it names a gateway on purpose.

The deployment itself is not changed: ``GET /system/function/NAME`` shows the ``envVars`` as
deployed, as a cluster would.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.wire import SECRET_MOUNT_PATH

#: The variable the packager, the router and the gateway client read the gateway URL from.
GATEWAY_URL_VARIABLE = "OPENFAAS_URL"
#: The packager's default ``OPENFAAS_URL`` (``BuildOptions.router_gateway``).
_IN_CLUSTER_HOSTS = frozenset({"gateway.openfaas", "gateway.openfaas.svc", "gateway.openfaas.svc.cluster.local"})
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - recognised, not bound


def is_in_cluster_gateway(url: str) -> bool:
    """True when ``url`` is the OpenFaaS gateway's in-cluster address (see the module docstring)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and (parts.hostname or "") in _IN_CLUSTER_HOSTS
        and port == 8080
        and parts.path in ("", "/")
        and not parts.query
    )


def reachable_url(host: str, port: int) -> str:
    """The base URL a process on this machine reaches a server listening on ``host``:``port`` by
    (a wildcard ``0.0.0.0`` or ``::`` becomes the loopback address), without a trailing slash."""
    host = _WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def with_local_gateway(spec: FunctionDeployment, gateway_url: str) -> FunctionDeployment:
    """``spec`` with ``OPENFAAS_URL`` set to ``gateway_url`` when it is unset or names the
    in-cluster gateway; ``spec`` itself otherwise."""
    current = spec.env_vars.get(GATEWAY_URL_VARIABLE)
    if current is not None and not is_in_cluster_gateway(current):
        return spec
    return replace(spec, env_vars={**spec.env_vars, GATEWAY_URL_VARIABLE: gateway_url})


def with_secret_mount(spec: FunctionDeployment, mount: Path) -> FunctionDeployment:
    """``spec`` with each environment value that names a file directly under
    :data:`~servey_faas.faas.wire.SECRET_MOUNT_PATH` pointed at that file in ``mount``;
    ``spec`` itself when none does."""
    moved = {}
    for key, value in spec.env_vars.items():
        folder, name = posixpath.split(posixpath.normpath(value)) if value.startswith("/") else ("", "")
        if folder == SECRET_MOUNT_PATH and name:
            moved[key] = str(mount / name)
    return replace(spec, env_vars={**spec.env_vars, **moved}) if moved else spec
