"""``remote()``: call a deployed action through the gateway as if it were the local function.

The contract with the deployed function (the packager builds functions that honour it): the
function serves its action at ``/`` (the gateway strips ``/function/<name>``, ``docs/openfaas.md#url-rules``); it takes
``POST`` with the action's params as one JSON object (``Content-Type: application/json``), validates them with the
action's schema, and answers 200 with the JSON result; any failure is a non-2xx status with a JSON error body.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx

from servey_faas.action import Action, get_action
from servey_faas.errors import ActionDefinitionError, ConfigurationError, InvocationError
from servey_faas.faas.client._client import AsyncGatewayClient, GatewayClient
from servey_faas.invocation import ActionInvoker
from servey_faas.naming import function_name
from servey_faas.schemas import TypeCodec
from servey_faas.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

_JSON_HEADERS = {"Accept": "application/json"}


class _Clients:
    """The gateway clients of a :class:`RemoteAction` and of the copies :meth:`RemoteAction.with_token`
    makes: the one given, or those made on first use (from ``OPENFAAS_URL`` and saved credentials)."""

    def __init__(self, client: GatewayClient | AsyncGatewayClient | None, owner: str) -> None:
        self.given = client
        self.owner = owner
        self.own_sync: GatewayClient | None = None
        self.own_async: AsyncGatewayClient | None = None
        self.lock = threading.Lock()

    def sync(self) -> GatewayClient:
        if isinstance(self.given, GatewayClient):
            return self.given
        if self.given is not None:
            raise ConfigurationError(f"{self.owner} was given an AsyncGatewayClient: use call_async / spawn_async")
        with self.lock:
            if self.own_sync is None:
                self.own_sync = GatewayClient()
            return self.own_sync

    def asynchronous(self) -> AsyncGatewayClient | None:
        """The async client; None when a sync client was given (its calls run in a worker thread)."""
        if isinstance(self.given, AsyncGatewayClient):
            return self.given
        if self.given is not None:
            return None
        with self.lock:
            if self.own_async is None:
                self.own_async = AsyncGatewayClient()
            return self.own_async

    def close(self) -> None:
        if self.own_sync is not None:
            self.own_sync.close()
            self.own_sync = None

    async def aclose(self) -> None:
        self.close()
        if self.own_async is not None:
            await self.own_async.aclose()
            self.own_async = None


class RemoteAction(Generic[P, R]):
    """A deployed action, called like the local one. Build it with :func:`remote`.

    * ``proxy(*args, **params)`` calls it synchronously and returns the declared return type;
    * ``await proxy.call_async(*args, **params)`` does the same from asyncio code;
    * ``proxy.spawn(*args, callback_url=None, **params)`` queues it (``/async-function``) and
      returns the call id; the JSON result is POSTed to ``callback_url`` (``docs/openfaas.md#callbacks``);
      ``await proxy.spawn_async(...)`` likewise;
    * ``proxy.with_token(token)`` is the same proxy calling on behalf of an end user: every call
      carries ``token`` as its bearer token, which the function verifies as the dev server does
      (``token`` is never a param, so it cannot clash with the action's own parameters).

    Params are marshalled and validated with the action's own schema before anything is sent
    (:class:`~servey_faas.errors.ValidationError`); the JSON result is loaded into the declared
    return type. A non-2xx answer raises :class:`FunctionError` (an ``InvocationError``)
    carrying the status and body (401/403 when the function refuses the token); gateway failures
    raise the ``GatewayError`` subclasses.

    ``function`` is the OpenFaaS function name (``servey_faas.naming.function_name``, as the
    packager names it) and ``namespace`` its namespace (``None``: the client's). Clients it
    created itself (from ``OPENFAAS_URL`` and saved credentials) are closed by :meth:`close`
    / :meth:`aclose` or the context managers; copies made by :meth:`with_token` share them.
    """

    def __init__(
        self,
        invoker: ActionInvoker,
        function: str,
        *,
        client: GatewayClient | AsyncGatewayClient | None = None,
        namespace: str | None = None,
        token: str | None = None,
    ) -> None:
        self.invoker = invoker
        self.action: Action = invoker.action
        self.function = function
        self.namespace = namespace
        self.token = token
        self._clients = _Clients(client, repr(self))
        self._names = [p.name for p in invoker.params]

    def __repr__(self) -> str:
        return f"RemoteAction({self.action.name!r}, function={self.function!r}, namespace={self.namespace!r})"

    def with_token(self, token: str | None) -> RemoteAction[P, R]:
        """This proxy with ``token`` (an end user's bearer token, without ``Bearer``; None: none)
        sent on every call; the clients are shared with this one."""
        copied = copy.copy(self)
        copied.token = token
        return copied

    # --- params and results --------------------------------------------------------------------

    def params(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON params object for a call with Python ``args``/``kwargs``, validated.

        :raises TypeError: for too many positional args or a param given twice.
        :raises ValidationError: when the params do not match the action's schema.
        """
        if len(args) > len(self._names):
            raise TypeError(f"{self.action.name}() takes {len(self._names)} positional arguments, got {len(args)}")
        named = dict(zip(self._names, args, strict=False))
        for key, value in kwargs.items():
            if key in named:
                raise TypeError(f"{self.action.name}() got multiple values for argument {key!r}")
            named[key] = value
        params = self.invoker.example_params(named)
        self.invoker.load_params(params)  # validate against the action's schema
        return params

    def result(self, response: httpx.Response) -> R:
        """The declared return value from a 2xx JSON ``response``.

        :raises InvocationError: when the body is not JSON of the declared type.
        """
        try:
            data = response.json()
        except ValueError as e:
            raise InvocationError(
                f"function {self.function} answered {response.status_code} without a JSON body: {response.text[:200]!r}"
            ) from e
        try:
            return self.invoker.codec.load(self.invoker.result_type, data)  # type: ignore[no-any-return]
        except Exception as e:
            raise InvocationError(
                f"function {self.function} answered a result that is not a {self.invoker.result_type!r}: {e}"
            ) from e

    # --- clients -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client this proxy created (given clients are left open)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the clients this proxy created (given clients are left open)."""
        await self._clients.aclose()

    def __enter__(self) -> RemoteAction[P, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> RemoteAction[P, R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- calls ---------------------------------------------------------------------------------

    def _invoke(self, client: GatewayClient, params: dict[str, Any]) -> httpx.Response:
        return client.invoke(self.function, params, namespace=self.namespace, headers=_JSON_HEADERS, token=self.token)

    def _queue(self, client: GatewayClient, params: dict[str, Any], callback_url: str | None) -> str:
        return client.invoke_async(
            self.function, params, namespace=self.namespace, callback_url=callback_url, token=self.token
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.result(self._invoke(self._clients.sync(), self.params(args, kwargs)))

    async def call_async(self, *args: P.args, **kwargs: P.kwargs) -> R:
        params = self.params(args, kwargs)
        client = self._clients.asynchronous()
        if client is None:
            from anyio import to_thread

            sync_client = self._clients.sync()
            response = await to_thread.run_sync(lambda: self._invoke(sync_client, params))
        else:
            response = await client.invoke(
                self.function, params, namespace=self.namespace, headers=_JSON_HEADERS, token=self.token
            )
        return self.result(response)

    def spawn(self, *args: Any, callback_url: str | None = None, **kwargs: Any) -> str:
        """Queue a call; returns its call id (the ``X-Call-Id`` the callback will carry)."""
        return self._queue(self._clients.sync(), self.params(args, kwargs), callback_url)

    async def spawn_async(self, *args: Any, callback_url: str | None = None, **kwargs: Any) -> str:
        """Like :meth:`spawn`, awaited."""
        params = self.params(args, kwargs)
        client = self._clients.asynchronous()
        if client is None:
            from anyio import to_thread

            sync_client = self._clients.sync()
            return await to_thread.run_sync(lambda: self._queue(sync_client, params, callback_url))
        return await client.invoke_async(
            self.function, params, namespace=self.namespace, callback_url=callback_url, token=self.token
        )


def _find_action(action_or_name: object, settings: Settings | None) -> Action:
    if isinstance(action_or_name, Action):
        return action_or_name
    if isinstance(action_or_name, str):
        from servey_faas.discovery import find_actions

        settings = settings or Settings.load()
        return find_actions(settings.action_path).get_action(action_or_name)
    found = get_action(action_or_name)
    if found is None:
        raise ActionDefinitionError(f"{action_or_name!r} is not an @action (nor an Action, nor an action name)")
    return found


@overload
def remote(
    action_or_name: Callable[P, Awaitable[R]],
    client: GatewayClient | AsyncGatewayClient | None = None,
    *,
    namespace: str | None = None,
    prefix: str | None = None,
    settings: Settings | None = None,
    token: str | None = None,
) -> RemoteAction[P, R]: ...


@overload
def remote(
    action_or_name: Callable[P, R],
    client: GatewayClient | AsyncGatewayClient | None = None,
    *,
    namespace: str | None = None,
    prefix: str | None = None,
    settings: Settings | None = None,
    token: str | None = None,
) -> RemoteAction[P, R]: ...


@overload
def remote(
    action_or_name: str | Action,
    client: GatewayClient | AsyncGatewayClient | None = None,
    *,
    namespace: str | None = None,
    prefix: str | None = None,
    settings: Settings | None = None,
    token: str | None = None,
) -> RemoteAction[..., Any]: ...


def remote(
    action_or_name: Any,
    client: GatewayClient | AsyncGatewayClient | None = None,
    *,
    namespace: str | None = None,
    prefix: str | None = None,
    settings: Settings | None = None,
    token: str | None = None,
) -> RemoteAction[..., Any]:
    """A :class:`RemoteAction` for a deployed action.

    ``action_or_name`` is an ``@action`` function, its :class:`~servey_faas.Action`, or an
    action name looked up among the app's actions (``SERVEY_ACTION_PATH`` /
    ``[tool.servey_faas] actions``). The function name is ``function_name(action.name,
    prefix)`` — the packager's rule — with ``prefix`` defaulting to ``[tool.servey_faas]
    function_prefix``. Without ``client``, one is made on first use from ``OPENFAAS_URL``
    (default ``http://127.0.0.1:8080``) and the credentials ``faas-cli login`` saved. ``token``
    is an end user's bearer token sent on every call (see :meth:`RemoteAction.with_token`).

    :raises ActionDefinitionError: when the action cannot be served (no annotations…).
    :raises ActionNotFoundError: for an unknown action name.
    :raises ConfigurationError: when the function name is not a DNS-1123 label.
    """
    action = _find_action(action_or_name, settings)
    if prefix is None:
        prefix = (settings or Settings.load()).function_prefix
    invoker = ActionInvoker(action, TypeCodec())
    return RemoteAction(invoker, function_name(action.name, prefix), client=client, namespace=namespace, token=token)
