"""Test clients: httpx clients that talk to the app in-process, through its ASGI interface.

:class:`TestClient` is synchronous: the app runs on an event loop in a background thread (an
anyio blocking portal, as Starlette's own TestClient does) and every request is handed to it.
:class:`AsyncTestClient` runs the app on the caller's event loop. Both run the app's lifespan
(startup on enter, shutdown on exit) when used as context managers, copy the lifespan state into
every request scope like uvicorn, and buffer each response body whole (endless streams block).
Both are real ``httpx`` clients, so everything httpx offers works; ``call(action, **params)``
builds the request for an action from its first ``WebTrigger``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Receive, Scope, Send

from servey_faas.app import ServeyApp
from servey_faas.errors import ActionNotFoundError, ConfigurationError, FieldError, ValidationError
from servey_faas.settings import Settings
from servey_faas.testing._lifespan import Lifespan

if TYPE_CHECKING:
    from servey_faas.web.handling import WebRoute

DEFAULT_BASE_URL = "http://testserver"

#: What a client can be built over: a :class:`ServeyApp`, any ASGI app, or None (find the actions).
AppLike = ServeyApp | ASGIApp | None
_Query = list[tuple[str, str | int | float | bool | None]]


class TestClient(httpx.Client):
    """A synchronous ``httpx.Client`` over the ASGI app of a servey_faas app (or any ASGI app).

    ``app_or_servey_app`` is a :class:`~servey_faas.app.ServeyApp` (served with
    :func:`servey_faas.web.create_app`), an ASGI app, or None to load the actions with
    ``settings`` (default :meth:`Settings.load`, i.e. ``SERVEY_ACTION_PATH`` or
    ``[tool.servey_faas] actions`` of the current folder). Use it as a context manager to run the
    app's lifespan::

        with TestClient() as client:
            assert client.call("say_hello", name="World").json() == "Hello World!"

    Without ``with``, each request runs on a fresh event loop and the lifespan never runs.
    ``raise_app_exceptions`` re-raises in the test what the app raised (after its 500 response).
    A ``ServeyApp`` (or None) is served without its schedules, so that they do not fire during a
    test; ``schedules=True`` runs them from the lifespan, as the dev server does.

    :raises ConfigurationError: (``DiscoveryError``, ``ActionDefinitionError``) when the actions
        cannot be loaded or served.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        app_or_servey_app: AppLike = None,
        settings: Settings | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        backend: str = "asyncio",
        schedules: bool = False,
    ) -> None:
        self.app, self.servey_app = _resolve_app(app_or_servey_app, settings, schedules)
        self._app_state: dict[str, Any] = {}
        self._backend = backend
        self._portal: BlockingPortal | None = None
        self._lifespan: Lifespan | None = None
        self._exit_stack: ExitStack | None = None
        self._routes: dict[str, WebRoute] | None = None
        asgi = httpx.ASGITransport(
            app=_with_state(self.app, self._app_state), raise_app_exceptions=raise_app_exceptions, root_path=root_path
        )
        super().__init__(
            base_url=base_url,
            headers=headers,
            transport=_PortalTransport(asgi, self._request_portal),
            follow_redirects=follow_redirects,
            trust_env=False,  # never route in-process requests through an environment proxy
        )

    @property
    def lifespan_state(self) -> dict[str, Any]:
        """The ``state`` the app's lifespan filled at startup (copied into every request scope)."""
        return self._app_state

    def action_request(
        self, action_name: str, params: Mapping[str, Any] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Request:
        """The request that calls ``action_name`` through its first ``WebTrigger`` (see :meth:`call`)."""
        method, path, query, body = _plan_request(self._web_route(action_name), params or {})
        return self.build_request(method, path, params=query, json=body, headers=headers)

    def call(self, action_name: str, /, **params: Any) -> httpx.Response:
        """Call an action over HTTP through its first ``WebTrigger`` and return the response.

        ``params`` are Python values or their JSON form (dataclasses, enums, dates are marshalled
        with the action's parameter types). Path placeholders are filled in, percent-encoded (a
        left-out param with a default takes its default). The other params go in the query string
        for GET and DELETE (strings as they are, lists as repeated keys, other values as JSON, None
        left out) and in a JSON object body otherwise. ``action_name`` may use ``-`` for ``_``.
        The routes come from :func:`servey_faas.web.rest.web_routes`, as the app serves them.

        :raises ActionNotFoundError: for an unknown action or one without a ``WebTrigger``.
        :raises ValidationError: when a path parameter without default is missing.
        :raises ConfigurationError: when the client was built over a plain ASGI app.
        """
        return self.send(self.action_request(action_name, params))

    def _web_route(self, action_name: str) -> WebRoute:
        if self._routes is None:
            self._routes = _first_routes(_require_servey(self.servey_app))
        return _route_for(self._routes, _require_servey(self.servey_app), action_name)

    @contextlib.contextmanager
    def _request_portal(self) -> Iterator[BlockingPortal]:
        if self._portal is not None:
            yield self._portal
        else:
            with start_blocking_portal(self._backend) as portal:
                yield portal

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            portal = stack.enter_context(start_blocking_portal(self._backend))
            lifespan = Lifespan(self.app, self._app_state)
            task, _ = portal.start_task(lifespan.run)
            stack.callback(task.cancel)  # a no-op once the lifespan has returned
            portal.call(lifespan.startup)
            super().__enter__()
            self._portal, self._lifespan = portal, lifespan
            self._exit_stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        stack, portal, lifespan = self._exit_stack, self._portal, self._lifespan
        self._exit_stack = self._portal = self._lifespan = None
        try:
            if portal is not None and lifespan is not None:
                portal.call(lifespan.shutdown)
        finally:
            try:
                super().__exit__(exc_type, exc_value, traceback)
            finally:
                if stack is not None:
                    stack.close()


class AsyncTestClient(httpx.AsyncClient):
    """The ``httpx.AsyncClient`` counterpart of :class:`TestClient`, on the caller's event loop.

    Enter and exit it in one task (``async with AsyncTestClient(app) as client:``): the lifespan
    runs in a task group held open in between.

    :raises ConfigurationError: (``DiscoveryError``, ``ActionDefinitionError``) when the actions
        cannot be loaded or served.
    """

    __test__ = False

    def __init__(
        self,
        app_or_servey_app: AppLike = None,
        settings: Settings | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        schedules: bool = False,
    ) -> None:
        self.app, self.servey_app = _resolve_app(app_or_servey_app, settings, schedules)
        self._app_state: dict[str, Any] = {}
        self._exit_stack: AsyncExitStack | None = None
        self._lifespan: Lifespan | None = None
        self._routes: dict[str, WebRoute] | None = None
        transport = httpx.ASGITransport(
            app=_with_state(self.app, self._app_state), raise_app_exceptions=raise_app_exceptions, root_path=root_path
        )
        super().__init__(
            base_url=base_url, headers=headers, transport=transport, follow_redirects=follow_redirects, trust_env=False
        )

    @property
    def lifespan_state(self) -> dict[str, Any]:
        """The ``state`` the app's lifespan filled at startup (copied into every request scope)."""
        return self._app_state

    def action_request(
        self, action_name: str, params: Mapping[str, Any] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> httpx.Request:
        """The request that calls ``action_name`` through its first ``WebTrigger`` (see :meth:`call`)."""
        if self._routes is None:
            self._routes = _first_routes(_require_servey(self.servey_app))
        route = _route_for(self._routes, _require_servey(self.servey_app), action_name)
        method, path, query, body = _plan_request(route, params or {})
        return self.build_request(method, path, params=query, json=body, headers=headers)

    async def call(self, action_name: str, /, **params: Any) -> httpx.Response:
        """Call an action over HTTP; see :meth:`TestClient.call`."""
        return await self.send(self.action_request(action_name, params))

    async def __aenter__(self) -> Self:
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        lifespan = Lifespan(self.app, self._app_state)
        try:
            await task_group.start(lifespan.run)
            await lifespan.startup()
            await super().__aenter__()
        except BaseException:
            # Leave the task group before raising, so the error is not wrapped in an ExceptionGroup.
            task_group.cancel_scope.cancel()
            await stack.aclose()
            raise
        self._lifespan, self._exit_stack = lifespan, stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        stack, lifespan = self._exit_stack, self._lifespan
        self._exit_stack = self._lifespan = None
        try:
            if lifespan is not None:
                await lifespan.shutdown()
        finally:
            try:
                await super().__aexit__(exc_type, exc_value, traceback)
            finally:
                if stack is not None:
                    await stack.aclose()


class _PortalTransport(httpx.BaseTransport):
    """Hands each request to an async ASGI transport running on a blocking portal's event loop."""

    def __init__(self, asgi: httpx.ASGITransport, portal: Callable[[], AbstractContextManager[BlockingPortal]]) -> None:
        self._asgi = asgi
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the body becomes an httpx.ByteStream, which async code can read too
        with self._portal() as portal:
            result: httpx.Response = portal.call(self._handle, request)
            return result

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return httpx.Response(
            response.status_code, headers=response.headers, stream=httpx.ByteStream(raw), extensions=response.extensions
        )


def _resolve_app(
    app_or_servey_app: AppLike, settings: Settings | None, schedules: bool
) -> tuple[ASGIApp, ServeyApp | None]:
    from servey_faas.web import create_app

    if app_or_servey_app is None:
        servey = ServeyApp.load(settings)
        return create_app(servey, schedules=schedules), servey
    if isinstance(app_or_servey_app, ServeyApp):
        return create_app(app_or_servey_app, schedules=schedules), app_or_servey_app
    found = getattr(getattr(app_or_servey_app, "state", None), "servey", None)
    return app_or_servey_app, found if isinstance(found, ServeyApp) else None


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    """``app`` with a shallow copy of the lifespan ``state`` in every request scope (as uvicorn does)."""

    async def app_with_state(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return app_with_state


def _require_servey(servey: ServeyApp | None) -> ServeyApp:
    if servey is None:
        raise ConfigurationError(
            "this client was built over a plain ASGI app: call() needs a ServeyApp "
            "or an app made by servey_faas.web.create_app"
        )
    return servey


def _first_routes(servey: ServeyApp) -> dict[str, WebRoute]:
    from servey_faas.web.handling import web_routes

    routes: dict[str, WebRoute] = {}
    for route in web_routes(servey.invokers):
        routes.setdefault(route.invoker.name, route)
    return routes


def _route_for(routes: Mapping[str, WebRoute], servey: ServeyApp, action_name: str) -> WebRoute:
    name = servey.invoker(action_name).name
    route = routes.get(name)
    if route is None:
        raise ActionNotFoundError(f"action {name!r} is not served over HTTP: it has no WebTrigger")
    return route


def _plan_request(route: WebRoute, params: Mapping[str, Any]) -> tuple[str, str, _Query | None, dict[str, Any] | None]:
    """``(method, path, query, body)`` calling ``route`` with ``params`` (Python or JSON values)."""
    from servey_faas.web.params import is_array

    invoker = route.invoker
    json_params = invoker.example_params(params)
    path = route.path
    defaults = {p.name: p.default for p in invoker.params if not p.required}
    for name in route.trigger.path_params:
        if name in json_params:
            value = json_params[name]
        elif name in defaults:  # a path has no optional parts: a left-out param takes its default
            value = invoker.example_params({name: defaults[name]})[name]
        else:
            raise ValidationError([FieldError(("path", name), "field required")])
        path = path.replace("{" + name + "}", quote(_text(value), safe=""))
    rest = {k: v for k, v in json_params.items() if k not in route.trigger.path_params}
    if route.trigger.reads_body:
        return route.method, path, None, rest
    arrays = {p.name for p in invoker.params if is_array(p.schema)}
    query: _Query = []
    for name, value in rest.items():
        if value is None:
            continue
        if name in arrays and isinstance(value, list):
            query.extend((name, _text(item)) for item in value)
        else:
            query.append((name, _text(value)))
    return route.method, path, query, None


def _text(value: Any) -> str:
    """A JSON value as it is written in a query string or path: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
