"""Starlette's router, finding the route of a literal path with one dict lookup.

Starlette's :class:`~starlette.routing.Router` tries its routes in order until one matches, so the
n-th route of an app costs n regular-expression matches per request (about 0.4 µs each): the last
action of an app with 50 web actions would pay 20 µs before its endpoint runs.
:class:`LiteralPathRouter` keeps, for every literal path (no ``{param}``), the route Starlette's scan
would try first for it, and sends a request there at once when that route matches it fully (path
and method). Anything else (a path with params, a method that route does not take: 405, a path no
route has: 404, a ``root_path``, websockets, lifespan) goes through Starlette's own scan, so every
request reaches the route it would have reached without this router
(https://www.starlette.io/routing/#route-priority).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


class LiteralPathRouter(Router):
    """A :class:`~starlette.routing.Router` (same arguments) with the fast path of the module
    docstring; :attr:`literal` maps each literal path to the route it tries first."""

    def __init__(self, routes: Sequence[BaseRoute] | None = None, **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self.literal = literal_routes(self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.literal.get(scope["path"])
            if route is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:  # as Router.app does for the first full match
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


def literal_routes(routes: Sequence[BaseRoute]) -> dict[str, Route]:
    """For each literal path among ``routes`` (a :class:`~starlette.routing.Route` without path
    params), the first route with that path, unless an earlier route of another kind or with params
    could match the path too (Starlette's scan may then stop there first: such a path is left out)."""
    literal: dict[str, Route] = {}
    earlier: list[BaseRoute] = []  # routes that are not literal, in order
    for route in routes:
        if isinstance(route, Route) and not route.param_convertors:
            if route.path not in literal and not any(_may_match(other, route.path) for other in earlier):
                literal[route.path] = route
        else:
            earlier.append(route)
    return literal


def _may_match(route: BaseRoute, path: str) -> bool:
    """True unless ``route`` surely never matches a request for ``path`` (a route without a path
    pattern, such as a ``Host``, is assumed to match anything)."""
    pattern = getattr(route, "path_regex", None)
    return pattern is None or pattern.match(path) is not None
