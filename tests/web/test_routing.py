"""servey_faas.web.routing: every request reaches the route Starlette's own scan would send it to."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from servey_faas.testing import TestClient
from servey_faas.web.routing import LiteralPathRouter, literal_routes


def answer(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    """An endpoint answering its own name and the path params it got."""

    async def endpoint(request: Request) -> PlainTextResponse:
        params = ",".join(f"{k}={v}" for k, v in sorted(request.path_params.items()))
        return PlainTextResponse(f"{name} {params}".strip())

    return endpoint


def route_sets() -> list[list[BaseRoute]]:
    """Orders of literal routes, patterned routes and a mount that overlap on the same paths."""
    pieces: list[BaseRoute] = [
        Route("/items/special", answer("special-get"), methods=["GET"]),
        Route("/items/{item}", answer("item-get"), methods=["GET"]),
        Route("/items/special", answer("special-post"), methods=["POST"]),
        Route("/items/{item}", answer("item-delete"), methods=["DELETE"]),
        Mount("/items", routes=[Route("/special", answer("mounted"), methods=["GET", "PUT"])]),
        Route("/other", answer("other-any")),
    ]
    return [*[list(order) for order in itertools.permutations(pieces, 4)][::7], pieces]


REQUESTS = [
    (method, path)
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
    for path in ("/items/special", "/items/special/", "/items/other", "/other", "/missing", "/items")
]


@pytest.mark.parametrize("routes", route_sets(), ids=lambda routes: "|".join(_name(r) for r in routes))
def test_every_request_reaches_the_route_starlettes_scan_finds(routes: list[BaseRoute]) -> None:
    plain, fast = Starlette(routes=routes), Starlette(routes=routes)
    fast.router = LiteralPathRouter(routes)
    with TestClient(plain) as expected_client, TestClient(fast) as client:
        for method, path in REQUESTS:
            expected = expected_client.request(method, path, follow_redirects=False)
            got = client.request(method, path, follow_redirects=False)
            assert (got.status_code, got.text, got.headers.get("allow")) == (
                expected.status_code,
                expected.text,
                expected.headers.get("allow"),
            ), (method, path)


def test_a_literal_path_after_a_pattern_matching_it_is_left_to_the_scan() -> None:
    first = Route("/items/{item}", answer("item"))
    special = Route("/items/special", answer("special"))
    other = Route("/other", answer("other"))
    assert literal_routes([first, special, other]) == {"/other": other}
    assert literal_routes([special, first, other]) == {"/items/special": special, "/other": other}


def test_the_first_route_of_a_literal_path_is_tried_first() -> None:
    post = Route("/items", answer("post"), methods=["POST"])
    get = Route("/items", answer("get"), methods=["GET"])
    router = LiteralPathRouter([post, get])
    assert router.literal == {"/items": post}
    app = Starlette()
    app.router = router
    with TestClient(app) as client:
        assert client.get("/items").text == "get"  # the scan finds it past the partial match
        assert client.post("/items").text == "post"


def test_a_root_path_goes_through_the_scan() -> None:
    app = Starlette()
    app.router = LiteralPathRouter([Route("/items", answer("items"))])
    with TestClient(app, root_path="/api") as client:
        assert client.get("/api/items").text == "items"


def _name(route: BaseRoute) -> str:
    methods = ",".join(sorted(getattr(route, "methods", None) or []))
    return f"{type(route).__name__}{getattr(route, 'path', '')}{methods}"
