"""REST routes: one Starlette route per (action, WebTrigger)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servey_faas.errors import ActionDefinitionError, BadRequestError, FieldError, ValidationError
from servey_faas.invocation import ActionInvoker
from servey_faas.naming import default_path
from servey_faas.triggers import WebTrigger
from servey_faas.web.params import QueryReader, parse_json_body
from servey_faas.web.responses import JSONResponse, error_response, validation_error_response

logger = logging.getLogger("servey_faas.web")


@dataclass(frozen=True)
class WebRoute:
    """Where one action is served: its trigger, the resolved path and where each param comes from."""

    invoker: ActionInvoker
    trigger: WebTrigger
    path: str

    @property
    def method(self) -> str:
        return self.trigger.method

    def location_of(self, param: str) -> str:
        """``path``, ``query`` or ``body``: where ``param`` is read from on this route."""
        if param in self.trigger.path_params:
            return "path"
        return "body" if self.trigger.reads_body else "query"


def web_routes(invokers: dict[str, ActionInvoker] | Any) -> Iterator[WebRoute]:
    """Every (action, WebTrigger) pair as a :class:`WebRoute`, in action order.

    :raises ActionDefinitionError: when a path placeholder names no parameter of its action, or
        two triggers claim one method and path.
    """
    seen: dict[tuple[str, str], str] = {}
    for invoker in invokers.values():
        names = {p.name for p in invoker.params}
        for trigger in invoker.action.web_triggers:
            path = trigger.path or default_path(invoker.name)
            missing = [p for p in trigger.path_params if p not in names]
            if missing:
                raise ActionDefinitionError(
                    f"action {invoker.name!r}: path {path!r} names {', '.join(missing)}, which are not parameters"
                )
            key = (trigger.method, path)
            if key in seen:
                raise ActionDefinitionError(
                    f"{trigger.method} {path} is claimed by actions {seen[key]!r} and {invoker.name!r}"
                )
            seen[key] = invoker.name
            yield WebRoute(invoker, trigger, path)


class ActionEndpoint:
    """The ASGI endpoint of one :class:`WebRoute`: request → params → invoker → JSON response."""

    def __init__(self, route: WebRoute) -> None:
        self.route = route
        self._invoker = route.invoker
        self._reader = QueryReader(route.invoker.params)
        self._reads_body = route.trigger.reads_body

    async def handle(self, request: Request) -> Response:
        try:
            if self._reads_body:
                params = parse_json_body(await request.body(), request.headers.get("content-type"))
                params.update(self._reader.read_path(request.path_params))
            else:
                params = self._reader.read(request.query_params, request.path_params)
            kwargs = self._invoker.load_params(params)
        except ValidationError as e:
            return validation_error_response([self._locate(err) for err in e.errors])
        except BadRequestError as e:
            return error_response(400, "bad_request", str(e))
        try:
            # Whatever the action raises (even a ValidationError of its own) is a server error:
            # the client's params were valid.
            result = await self._invoker.call(kwargs)
            return JSONResponse(self._invoker.dump_result(result))  # rendering may fail too (NaN)
        except Exception:
            logger.exception("action %r failed on %s %s", self._invoker.name, request.method, request.url.path)
            return error_response(500, "internal_error", "internal server error")

    def _locate(self, error: FieldError) -> FieldError:
        if not error.location:
            return error.prefixed("body" if self._reads_body else "query")
        return error.prefixed(self.route.location_of(str(error.location[0])))


def rest_routes(invokers: dict[str, ActionInvoker] | Any) -> list[Route]:
    """The Starlette routes of every web-triggered action: one route per path, so that a 405
    lists every method the path supports in ``Allow`` (RFC 9110 §15.5.6)."""
    by_path: dict[str, dict[str, ActionEndpoint]] = {}
    for r in web_routes(invokers):
        by_path.setdefault(r.path, {})[r.method] = ActionEndpoint(r)
    routes = []
    for path, endpoints in by_path.items():
        if len(endpoints) == 1:
            [(method, endpoint)] = endpoints.items()
            name = f"{endpoint.route.invoker.name}:{method}"
            routes.append(Route(path, endpoint.handle, methods=[method], name=name))
        else:
            routes.append(Route(path, _MethodDispatch(endpoints).handle, methods=list(endpoints)))
    return routes


class _MethodDispatch:
    """Several actions on one path, told apart by the request method (HEAD is served as GET)."""

    def __init__(self, endpoints: dict[str, ActionEndpoint]) -> None:
        self._endpoints = endpoints

    async def handle(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self._endpoints[method].handle(request)
