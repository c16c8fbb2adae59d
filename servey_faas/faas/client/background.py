"""Background work on OpenFaaS: a :class:`~servey_faas.scheduling.channels.BackgroundBackend` that
queues each call on the gateway's async route, for the queue-worker to run the action's function
(``docs/openfaas.md#asynchronous-invocation-and-callbacks``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from servey_faas.naming import function_name

if TYPE_CHECKING:
    from servey_faas.faas.client._client import GatewayClient
    from servey_faas.invocation import ActionInvoker
    from servey_faas.types import JSON


class OpenFaaSBackgroundSender:
    """Queues ``POST /async-function/<function>.<namespace>`` with the call's JSON params
    (``docs/openfaas.md#enqueueing-an-async-call``) and returns the gateway call id (``X-Call-Id``).

    The function is the action's own (``servey_faas.naming.function_name`` behind ``prefix``, as
    the packager names it), in ``namespace`` (default: the client's). The result goes to
    ``callback_url`` when given (``docs/openfaas.md#callbacks``), else it is dropped. ``client`` defaults to a
    :class:`~servey_faas.faas.GatewayClient` from ``OPENFAAS_URL`` and the credentials
    ``faas-cli login`` saved, made at the first call and closed by :meth:`close`.
    """

    def __init__(
        self,
        client: GatewayClient | None = None,
        *,
        prefix: str = "",
        namespace: str | None = None,
        callback_url: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.namespace = namespace
        self.callback_url = callback_url
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    def submit(self, invoker: ActionInvoker, params: dict[str, JSON]) -> str:
        """Queue one call; the params were validated by the channel already.

        :raises GatewayError: (from the client) when the gateway refuses the call.
        """
        name = function_name(invoker.name, self.prefix)
        return self._gateway().invoke_async(name, params, namespace=self.namespace, callback_url=self.callback_url)

    def close(self, wait: bool = True) -> None:
        """Close the client if this sender made it (queued calls are the gateway's by now)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._owns_client:
            client.close()

    def _gateway(self) -> GatewayClient:
        with self._lock:
            if self._client is None:
                from servey_faas.faas.client._client import GatewayClient

                self._client = GatewayClient()
                self._owns_client = True
            return self._client


def runs_on_openfaas(environ: Mapping[str, str] | None = None) -> bool:
    """True inside an OpenFaaS function: providers inject ``OPENFAAS_NAME`` (``docs/openfaas.md#function-identity``,
    Identity), and the packager sets it too."""
    env = os.environ if environ is None else environ
    return bool(env.get("OPENFAAS_NAME"))
