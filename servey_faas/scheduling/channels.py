"""Event channels: run an action in the background, or post an event to a webhook.

* :func:`background_action_channel` — ``channel.publish(**params)`` validates the params now and
  runs the action later, elsewhere, through the one invocation path:

  - on a :class:`LocalBackgroundWorker` (threads of this process) in the dev server;
  - as a Celery task (:class:`CeleryBackgroundSender`) when ``CELERY_BROKER`` is set;
  - on OpenFaaS, the seam is :class:`BackgroundBackend`: an asynchronous gateway invocation
    (``POST /async-function/<name>``, ``docs/openfaas.md#asynchronous-invocation-and-callbacks``) implements ``submit``
    and is passed as ``backend=`` (or chosen by :func:`default_backend` once the gateway client exists).

* :class:`WebhookEventChannel` — ``channel.publish(event)`` sends the event's JSON form to a URL
  with httpx, within a timeout, and raises :class:`WebhookError` when it does not get a 2xx.

Creating a channel does nothing else: no thread, connection or codec exists until the first
publish, so channels can be module-level values in an actions module.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, overload

from servey_faas.action import Action, get_action
from servey_faas.errors import ActionDefinitionError, ConfigurationError, ServeyFaasError
from servey_faas.scheduling.settings import CELERY_MISSING, CelerySettings

if TYPE_CHECKING:
    import httpx
    from celery import Celery

    from servey_faas.invocation import ActionInvoker
    from servey_faas.schemas import TypeCodec
    from servey_faas.types import JSON

logger = logging.getLogger("servey_faas.scheduling")

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds a webhook request may take (connect, write, read, pool), unless told otherwise.
DEFAULT_WEBHOOK_TIMEOUT = 10.0
#: Threads of a :class:`LocalBackgroundWorker`, unless told otherwise.
DEFAULT_LOCAL_WORKERS = 4


class BackgroundBackend(Protocol):
    """Where a background channel sends its calls. ``params`` are already validated JSON."""

    def submit(self, invoker: ActionInvoker, params: dict[str, JSON]) -> str:
        """Start running ``invoker`` with ``params`` elsewhere; return a call id (for logs)."""
        ...

    def close(self, wait: bool = True) -> None:
        """Release threads and connections (``wait``: let submitted calls finish first)."""
        ...


class LocalBackgroundWorker:
    """Runs calls on a pool of ``max_workers`` threads of this process (started at the first
    submit). A call that raises is logged with the action's name and call id.

    Python joins the threads at interpreter exit, so calls already submitted finish before the
    process ends; :meth:`close` does the same earlier.
    """

    def __init__(self, max_workers: int = DEFAULT_LOCAL_WORKERS) -> None:
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, invoker: ActionInvoker, params: dict[str, JSON]) -> str:
        call_id = uuid.uuid4().hex
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="servey-background")
            self._executor.submit(self._run, invoker, params, call_id)
        return call_id

    @staticmethod
    def _run(invoker: ActionInvoker, params: dict[str, JSON], call_id: str) -> None:
        try:
            invoker.invoke_sync(params)
        except Exception:
            logger.exception("background action %r failed (call %s)", invoker.name, call_id)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait)


class CeleryBackgroundSender:
    """Sends each call as the action's Celery task (``servey_faas.<action>``, kwargs
    ``{"params": ...}``) to the broker of ``settings``; a ``--run=celery-worker`` runs it.

    :raises ConfigurationError: from :meth:`submit` when Celery is not installed.
    """

    def __init__(self, settings: CelerySettings) -> None:
        self.settings = settings
        self._celery: Celery | None = None
        self._lock = threading.Lock()

    def submit(self, invoker: ActionInvoker, params: dict[str, JSON]) -> str:
        try:
            from servey_faas.scheduling.celery_app import celery_client, task_name
        except ImportError as e:
            raise ConfigurationError(CELERY_MISSING) from e
        with self._lock:
            if self._celery is None:
                self._celery = celery_client(self.settings)
            celery = self._celery
        return str(celery.send_task(task_name(invoker.name), kwargs={"params": params}).id)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            celery, self._celery = self._celery, None
        if celery is not None:
            celery.close()


def default_backend(settings: CelerySettings, environ: Mapping[str, str] | None = None) -> BackgroundBackend:
    """Where background calls go: ``SERVEY_BACKGROUND`` (``local``, ``celery`` or ``openfaas``)
    when set; else Celery when ``settings`` has a broker; else the gateway's async queue inside an
    OpenFaaS function (``OPENFAAS_NAME`` is set, ``docs/openfaas.md#function-identity``); else a local thread pool.

    On OpenFaaS the action's own function runs the call (``SERVEY_FUNCTION_PREFIX`` and
    ``SERVEY_FUNCTION_NAMESPACE``, set by the packager, name it; ``OPENFAAS_URL`` the gateway).

    :raises ConfigurationError: for another ``SERVEY_BACKGROUND`` value, or ``celery`` without a broker.
    """
    env = os.environ if environ is None else environ
    choice = env.get("SERVEY_BACKGROUND", "").strip().lower()
    if choice not in ("", "local", "celery", "openfaas"):
        raise ConfigurationError(f"SERVEY_BACKGROUND must be local, celery or openfaas, not {choice!r}")
    if choice == "celery" and not settings.enabled:
        raise ConfigurationError("SERVEY_BACKGROUND=celery needs CELERY_BROKER")
    if choice == "celery" or (not choice and settings.enabled):
        return CeleryBackgroundSender(settings)
    from servey_faas.faas.client.background import OpenFaaSBackgroundSender, runs_on_openfaas

    if choice == "openfaas" or (not choice and runs_on_openfaas(env)):
        namespace = env.get("SERVEY_FUNCTION_NAMESPACE") or env.get("OPENFAAS_NAMESPACE") or None
        return OpenFaaSBackgroundSender(prefix=env.get("SERVEY_FUNCTION_PREFIX", ""), namespace=namespace)
    return LocalBackgroundWorker()


class BackgroundActionChannel(Generic[P]):
    """Publishes calls of one action to a :class:`BackgroundBackend` (see
    :func:`background_action_channel`)."""

    def __init__(
        self, action: Action, *, backend: BackgroundBackend | None = None, celery: CelerySettings | None = None
    ) -> None:
        self.action = action
        self._backend = backend
        self._celery = celery
        self._invoker: ActionInvoker | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The action's name."""
        return self.action.name

    def _ready(self) -> tuple[ActionInvoker, BackgroundBackend]:
        with self._lock:
            if self._invoker is None:
                from servey_faas.invocation import ActionInvoker
                from servey_faas.schemas import TypeCodec

                self._invoker = ActionInvoker(self.action, TypeCodec())
            if self._backend is None:
                self._backend = default_backend(CelerySettings.load() if self._celery is None else self._celery)
            return self._invoker, self._backend

    def publish(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Validate the params (as the action's own arguments) and start the call in the
        background; return the call id (a Celery task id under Celery).

        :raises TypeError: when the arguments do not fit the action's signature.
        :raises ValidationError: when they do not match its params schema.
        :raises ConfigurationError: when the backend cannot be used (e.g. Celery missing).
        """
        invoker, backend = self._ready()
        arguments = inspect.signature(self.action.fn).bind(*args, **kwargs).arguments
        params = invoker.example_params(arguments)
        invoker.load_params(params)
        return backend.submit(invoker, params)

    def close(self, wait: bool = True) -> None:
        """Close the backend (``wait``: let local calls finish first)."""
        with self._lock:
            backend = self._backend
        if backend is not None:
            backend.close(wait)

    def __repr__(self) -> str:
        return f"BackgroundActionChannel({self.name!r})"


@overload
def background_action_channel(
    action: Callable[P, Any], *, backend: BackgroundBackend | None = None, celery: CelerySettings | None = None
) -> BackgroundActionChannel[P]: ...


@overload
def background_action_channel(
    action: Action, *, backend: BackgroundBackend | None = None, celery: CelerySettings | None = None
) -> BackgroundActionChannel[...]: ...


def background_action_channel(
    action: Callable[..., Any] | Action,
    *,
    backend: BackgroundBackend | None = None,
    celery: CelerySettings | None = None,
) -> BackgroundActionChannel[...]:
    """A channel whose ``publish(**params)`` runs ``action`` (an ``@action`` function, or its
    :class:`~servey_faas.action.Action`) in the background.

    The backend is chosen at the first publish, not here: ``backend`` if given; else Celery when
    ``celery`` (default :meth:`CelerySettings.load`, i.e. ``CELERY_BROKER``) has a broker (the
    action's task must be served by a ``--run=celery-worker`` of the same app); else a
    :class:`LocalBackgroundWorker` of this process.

    :raises ActionDefinitionError: when ``action`` is not an ``@action`` function.
    """
    found = action if isinstance(action, Action) else get_action(action)
    if found is None:
        raise ActionDefinitionError(f"background_action_channel needs an @action function, not {action!r}")
    return BackgroundActionChannel(found, backend=backend, celery=celery)


class WebhookError(ServeyFaasError):
    """A webhook did not accept an event: no answer within the timeout, a connection error, or a
    status other than 2xx (``status_code``; None when there was no answer)."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


_WEBHOOK_METHODS = ("POST", "PUT", "PATCH")


class WebhookEventChannel(Generic[T]):
    """Posts events to a webhook: ``publish(event)`` sends ``method url`` with the event's JSON
    form as the body (``Content-Type: application/json``) and ``X-Servey-Event: <name>``, plus
    ``headers``.

    ``event_type`` is the type events are marshalled as (default: each event's own type);
    dataclasses, enums, dates and the other action types are turned into JSON as in action
    results. ``timeout`` is in seconds, for each of connect, write, read and pool. ``transport``
    / ``async_transport`` are httpx transports (tests: ``httpx.MockTransport``).

    :raises ConfigurationError: for a URL that is not http(s) or a method other than POST, PUT, PATCH.
    """

    def __init__(
        self,
        name: str,
        url: str,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        *,
        event_type: Any = None,
        timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        method = method.upper()
        if method not in _WEBHOOK_METHODS:
            raise ConfigurationError(
                f"webhook {name!r}: method must be one of {', '.join(_WEBHOOK_METHODS)}, not {method!r}"
            )
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"webhook {name!r}: url must be http:// or https://, not {url!r}")
        if not timeout > 0:
            raise ConfigurationError(f"webhook {name!r}: timeout must be > 0 seconds, not {timeout!r}")
        self.name = name
        self.url = url
        self.method = method
        self.headers: dict[str, str] = dict(headers or {})
        self.event_type = event_type
        self.timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        self._codec: TypeCodec | None = None
        self._lock = threading.Lock()

    def _request(self, event: T) -> tuple[bytes, dict[str, str]]:
        import json

        from servey_faas import __version__

        body = json.dumps(self._marshal(event), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"servey_faas/{__version__}",
            "X-Servey-Event": self.name,
            **self.headers,
        }
        return body, headers

    def _marshal(self, event: T) -> JSON:
        if isinstance(event, (str, int, float, bool, type(None))) and self.event_type is None:
            return event
        with self._lock:
            if self._codec is None:
                from servey_faas.schemas import TypeCodec

                self._codec = TypeCodec()
            codec = self._codec
        try:
            dumped: JSON = codec.dump(event, self.event_type)
        except Exception as e:
            raise ConfigurationError(f"webhook {self.name!r}: cannot turn {type(event).__name__} into JSON: {e}") from e
        return dumped

    def publish(self, event: T) -> None:
        """Send ``event``; return once the webhook answered 2xx.

        :raises WebhookError: on a timeout, a connection error or a non-2xx answer.
        :raises ConfigurationError: when the event has no JSON form.
        """
        import httpx

        body, headers = self._request(event)
        try:
            with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                response = client.request(self.method, self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise self._transport_error(e) from e
        self._check(response)

    async def publish_async(self, event: T) -> None:
        """Like :meth:`publish`, without blocking the event loop.

        :raises WebhookError: on a timeout, a connection error or a non-2xx answer.
        :raises ConfigurationError: when the event has no JSON form.
        """
        import httpx

        body, headers = self._request(event)
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self._async_transport) as client:
                response = await client.request(self.method, self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise self._transport_error(e) from e
        self._check(response)

    def _transport_error(self, e: httpx.HTTPError) -> WebhookError:
        import httpx

        if isinstance(e, httpx.TimeoutException):
            what = f"no answer within {self.timeout:g}s ({type(e).__name__})"
        else:
            what = f"{type(e).__name__}: {e}"
        return WebhookError(f"webhook {self.name!r}: {self.method} {self.url} failed: {what}", url=self.url)

    def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        text = response.text[:200]
        raise WebhookError(
            f"webhook {self.name!r}: {self.method} {self.url} answered {response.status_code} {response.reason_phrase}"
            + (f": {text}" if text else ""),
            url=self.url,
            status_code=response.status_code,
        )

    def __repr__(self) -> str:
        return f"WebhookEventChannel({self.name!r}, {self.url!r}, method={self.method!r})"
