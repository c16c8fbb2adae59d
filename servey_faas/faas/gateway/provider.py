"""The seam between the gateway's wire behaviour (:mod:`~.app`) and a provider: where deployments
and secrets live, and how an invocation reaches a function.

The gateway routes of :class:`~.app.GatewayApp` answer as the community-edition gateway does
whatever the provider; a provider only stores and runs. Two implement :class:`Provider`: the
local gateway's :class:`~.local.ProcessProvider` (state on disk, functions as local processes) and
the tests' in-memory provider behind :class:`servey_faas.testing.FakeGateway` (functions are ASGI
or WSGI apps attached in-process). As in OpenFaaS, where the gateway forwards ``/system/*`` and
``/function/*`` to a provider implementing faas-provider's routes
(https://github.com/openfaas/faas-provider, ``serve.go``).
"""

from __future__ import annotations

import contextlib
import datetime
import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from servey_faas.faas.client.models import FunctionDeployment, ProviderInfo, Secret

#: Function, secret and namespace names the gateway accepts: DNS-1123 subdomains, as Kubernetes
#: providers require (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/),
#: which are also safe as one path segment.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def valid_name(name: str) -> bool:
    """True for a DNS-1123 subdomain (``[a-z0-9]([-a-z0-9.]*[a-z0-9])?``, at most 253 characters)."""
    return _NAME.fullmatch(name) is not None


@dataclass
class Deployed:
    """One deployed function: its ``spec`` (namespace filled in), when it was first deployed,
    and the replica count asked for (1-5: the gateway clamps scale requests)."""

    spec: FunctionDeployment
    created_at: datetime.datetime
    replicas: int = 1

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, name)``."""
        return (self.spec.namespace, self.spec.service)


@dataclass(frozen=True)
class Upstream:
    """Where one invocation goes: the base ``url`` of a ready replica (no trailing slash), reached
    with ``client`` (owned by the provider; its transport may be an in-process app)."""

    client: httpx.AsyncClient
    url: str


class Provider(Protocol):
    """What a gateway needs from its provider. Names passed in are valid (:func:`valid_name`)
    and namespaces filled in; the gateway serialises changes (one at a time)."""

    #: ``provider`` of ``GET /system/info``.
    info: ProviderInfo

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Entered when the gateway starts (before the first request), left when it stops."""
        ...

    def check(self, spec: FunctionDeployment) -> None:
        """Refuse a deployment this provider cannot run.

        :raises ValueError: saying why (the gateway answers 400 with it).
        """
        ...

    def functions(self, namespace: str) -> list[Deployed]:
        """The deployments of ``namespace``, sorted by name."""
        ...

    def get(self, namespace: str, name: str) -> Deployed | None:
        """The deployment of ``name`` in ``namespace``, or ``None``."""
        ...

    async def deploy(self, deployed: Deployed) -> None:
        """Store ``deployed`` (new, or replacing the spec of an existing one) and run it; may return
        before its replicas are ready."""
        ...

    async def scale(self, deployed: Deployed) -> None:
        """Store the new replica count of ``deployed`` (already deployed) and run that many."""
        ...

    async def remove(self, namespace: str, name: str) -> bool:
        """Stop and forget a function; ``False`` when it was not deployed."""
        ...

    def available(self, namespace: str, name: str) -> int:
        """How many replicas of the function are ready (``availableReplicas``)."""
        ...

    def upstream(self, namespace: str, name: str) -> Upstream | None:
        """Where the next invocation of a deployed function goes; ``None`` while no replica is ready."""
        ...

    def secret_names(self, namespace: str) -> list[str]:
        """The names of the secrets of ``namespace``, sorted."""
        ...

    def set_secret(self, namespace: str, secret: Secret) -> None:
        """Create or replace ``secret`` (its value: ``raw_value`` if given, else ``value``)."""
        ...

    def delete_secret(self, namespace: str, name: str) -> bool:
        """Remove a secret; ``False`` when there was none."""
        ...
