"""The local gateway (``--run=gateway``): the gateway's routes (:class:`~.app.GatewayApp`) over
:class:`ProcessProvider`, whose deployments and secrets are kept in a state folder and whose
functions run from their build contexts as local processes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from servey_faas import __version__
from servey_faas.faas.client.models import FunctionDeployment, ProviderInfo, Secret, VersionInfo
from servey_faas.faas.gateway.app import GatewayApp
from servey_faas.faas.gateway.credentials import BasicCredentials
from servey_faas.faas.gateway.cron import CronConnector
from servey_faas.faas.gateway.environment import with_local_gateway, with_secret_mount
from servey_faas.faas.gateway.iam import Admin, LocalIAM, load_or_create_key
from servey_faas.faas.gateway.logs import LogBook
from servey_faas.faas.gateway.processes import Supervisor, command_line, context_dir
from servey_faas.faas.gateway.provider import Deployed, Upstream
from servey_faas.faas.gateway.retrying import QueueRetryPolicy
from servey_faas.faas.gateway.state import GatewayState

#: ``provider.provider`` of ``/system/info``.
PROVIDER_NAME = "servey-faas-local"


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of a local gateway: its ``state_dir``; ``credentials`` for ``/system/*`` (``None``:
    no basic auth); ``ready_timeout`` and ``stop_timeout`` of the replicas (seconds, see
    :class:`~servey_faas.faas.gateway.processes.Supervisor`); ``upstream_timeout`` (seconds) for a
    function's answer to start (``docs/openfaas.md#gateway-configuration-and-timeouts``);
    ``max_inflight`` async jobs run at once (CE: 1, ``docs/openfaas.md#the-ce-queue-worker``)."""

    state_dir: Path
    credentials: BasicCredentials | None = None
    ready_timeout: float = 60.0
    stop_timeout: float = 5.0
    upstream_timeout: float = 60.0
    max_inflight: int = 1
    #: The base URL function processes reach this gateway on: their ``OPENFAAS_URL`` when it is unset or
    #: the in-cluster gateway (see :mod:`~.environment`); ``None``: left as deployed.
    local_url: str | None = None
    #: The issuer of IAM tokens (``docs/openfaas.md#token-exchange``); ``None``: the base URL each request
    #: came in on (see :mod:`~.iam`).
    public_url: str | None = None
    #: Retries of failed async invocations (Pro queue-worker, ``docs/openfaas.md#pro-queue-worker-retries``);
    #: the default: none, as CE.
    retry: QueueRetryPolicy = field(default_factory=QueueRetryPolicy)


class ProcessProvider:
    """The local gateway's :class:`~.provider.Provider`: deployments and secrets in ``state``
    (:mod:`~.state`), replicas run by ``supervisor`` (:mod:`~.processes`). Before its replicas
    start, a function gets its secrets mounted in a folder of the state, ``OPENFAAS_URL`` pointed
    at ``local_url`` (:mod:`~.environment`) and a service account token of ``iam`` (:mod:`~.iam`).
    Its lifespan restarts the saved deployments and stops every replica at the end.

    :raises ValueError: (entering the lifespan) when the state file cannot be read.
    """

    info = ProviderInfo(PROVIDER_NAME, "process", VersionInfo(release=__version__))

    def __init__(
        self, state: GatewayState, supervisor: Supervisor, logs: LogBook, iam: LocalIAM, local_url: str | None
    ) -> None:
        self.state = state
        self.supervisor = supervisor
        self.logs = logs
        self.iam = iam
        self.local_url = local_url
        self._replicas: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        # replicas are on loopback: never through the user's HTTP_PROXY / ALL_PROXY
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as self._replicas:
            try:
                for deployed in self.state.load():
                    await self._run(deployed)
                yield
            finally:
                await self.supervisor.close()

    def check(self, spec: FunctionDeployment) -> None:
        context_dir(spec.image)
        command_line(spec.env_process)

    def functions(self, namespace: str) -> list[Deployed]:
        return self.state.functions(namespace)

    def get(self, namespace: str, name: str) -> Deployed | None:
        return self.state.get(namespace, name)

    async def deploy(self, deployed: Deployed) -> None:
        self.state.put(deployed)
        await self._run(deployed)

    async def scale(self, deployed: Deployed) -> None:
        self.state.put(deployed)
        await self.supervisor.scale(deployed.spec.namespace, deployed.spec.service, deployed.replicas)

    async def remove(self, namespace: str, name: str) -> bool:
        if self.state.remove(namespace, name) is None:
            return False
        await self.supervisor.remove(namespace, name)
        self.iam.forget_service_account(self.state.root, namespace, name)
        return True

    def available(self, namespace: str, name: str) -> int:
        return self.supervisor.available(namespace, name)

    def upstream(self, namespace: str, name: str) -> Upstream | None:
        function = self.supervisor.get(namespace, name)
        replica = None if function is None else function.pick()
        if replica is None or self._replicas is None:
            return None
        return Upstream(self._replicas, replica.url)

    def secret_names(self, namespace: str) -> list[str]:
        return self.state.secret_names(namespace)

    def set_secret(self, namespace: str, secret: Secret) -> None:
        self.state.set_secret(namespace, secret)

    def delete_secret(self, namespace: str, name: str) -> bool:
        return self.state.delete_secret(namespace, name)

    async def _run(self, deployed: Deployed) -> None:
        mount, missing = self.state.mount_secrets(deployed.spec)
        for name in missing:
            message = f"secret {name} does not exist: not mounted\n"
            self.logs.append(deployed.spec.service, deployed.spec.namespace, "", message)
        spec = with_secret_mount(deployed.spec, mount)  # /var/openfaas/secrets/<name> is the mount folder here
        if self.local_url:  # the in-cluster OPENFAAS_URL points at this gateway (see :mod:`~.environment`)
            spec = with_local_gateway(spec, self.local_url)
        spec = self.iam.with_service_account(spec, self.state.root)  # see :mod:`~.iam`
        await self.supervisor.deploy(spec, mount, deployed.replicas)


class Gateway:
    """One local gateway: its state, its function processes and its ASGI app (:attr:`app`).

    Serve :attr:`app` with a lifespan-aware server (uvicorn): startup restarts the deployments
    saved in the state folder; shutdown stops every function process. :meth:`kill_all` stops
    them from any thread, for a caller's ``finally``.

    :raises ValueError: (at startup) when the state file cannot be read; when the IAM signing key
        file of the state folder is not a P-256 key (:mod:`~.iam`).
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.state = GatewayState(config.state_dir)
        logs = LogBook()
        # each function's Python environment is prepared under envs/ (see :mod:`~.pyenv`)
        self.supervisor = Supervisor(
            logs,
            ready_timeout=config.ready_timeout,
            stop_timeout=config.stop_timeout,
            envs_dir=config.state_dir / "envs",
        )
        credentials = config.credentials
        admin = None if credentials is None else Admin(credentials.user, credentials.password)
        iam = LocalIAM(load_or_create_key(config.state_dir), admin, public_url=config.public_url)
        provider = ProcessProvider(self.state, self.supervisor, logs, iam, config.local_url)
        self.core = GatewayApp(
            provider,
            logs=logs,
            iam=iam,
            queue_path=config.state_dir / "queue.sqlite3",
            credentials=credentials,
            ready_timeout=config.ready_timeout,
            upstream_timeout=config.upstream_timeout,
            max_inflight=config.max_inflight,
            retry=config.retry,
        )
        self.app = self.core.app

    @property
    def cron(self) -> CronConnector:
        """The cron-connector (once started)."""
        return self.core.cron

    def kill_all(self) -> None:
        """Stop every function process (SIGTERM, then SIGKILL), from any thread."""
        self.core.end_streams()
        self.supervisor.kill_all()
