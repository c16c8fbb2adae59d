"""REST caching: Cache-Control/Expires/ETag on successful GETs, If-None-Match → 304, and no caching
headers anywhere else (other methods, errors). HEAD is checked over a real server (uvicorn drops
the body of a HEAD response; the in-process transport does not)."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from servey_faas import (
    WEB_GET,
    ETagCacheControl,
    ScopeAccessControl,
    TtlCacheControl,
    WebTrigger,
    action,
    get_action,
)
from servey_faas.app import ServeyApp
from servey_faas.authentication import JwtSettings
from servey_faas.cache_control import etag_of
from servey_faas.discovery import ActionRegistry
from servey_faas.settings import Settings
from servey_faas.web import create_app
from tests.test_authentication import SECRET, sign

from .conftest import serve

pytestmark = pytest.mark.anyio

CACHING_HEADERS = ("cache-control", "expires", "etag", "vary")


@action(triggers=(WEB_GET,), cache_control=(TtlCacheControl(60), ETagCacheControl()))
def price(item: str) -> dict[str, float]:
    """TTL and ETag together."""
    if item == "boom":
        raise RuntimeError("the price list is unavailable")
    return {"item_cents": float(len(item) * 100)}


@action(triggers=(WEB_GET,), cache_control=TtlCacheControl(120, public=True))
def catalogue() -> list[str]:
    """A public TTL, no ETag."""
    return ["tea", "coffee"]


@action(triggers=(WEB_GET,), cache_control=ETagCacheControl())
def motd() -> str:
    """An ETag only."""
    return "Have a nice day"


@action(
    triggers=(WEB_GET, WebTrigger("POST", "/actions/stock")),
    cache_control=(TtlCacheControl(30), ETagCacheControl()),
)
def stock(item: str = "tea") -> int:
    """Cached on GET; the same action on POST is never cached."""
    return len(item)


@action(
    triggers=(WEB_GET,),
    access_control=ScopeAccessControl("reports:read"),
    cache_control=(TtlCacheControl(300, public=True), ETagCacheControl()),
)
def report() -> str:
    """Protected: asks for public caching, gets private + Vary: Authorization."""
    return "quarterly numbers"


CACHING_ACTIONS = (price, catalogue, motd, stock, report)


def caching_app() -> ServeyApp:
    registry = ActionRegistry(a for a in map(get_action, CACHING_ACTIONS) if a is not None)
    return ServeyApp.from_registry(registry, Settings(jwt=JwtSettings(SECRET)))


@pytest.fixture(scope="module")
def asgi() -> object:
    return create_app(caching_app(), schedules=False)


@pytest.fixture
async def client(asgi: object) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://testserver") as c:  # type: ignore[arg-type]
        yield c


@pytest.fixture(scope="module")
def server(asgi: object) -> Iterator[str]:
    with serve(asgi) as base_url:
        yield base_url


def assert_uncached(response: httpx.Response) -> None:
    present = [h for h in CACHING_HEADERS if h in response.headers]
    assert present == [], f"{response.status_code} carries {present}"


# --- headers on a successful GET ---------------------------------------------------------------------


async def test_a_get_carries_ttl_and_etag_headers(client: httpx.AsyncClient) -> None:
    before = math.floor(time.time())
    response = await client.get("/actions/price", params={"item": "tea"})
    after = time.time()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=60"
    assert response.headers["etag"] == etag_of(response.content)
    expires = email.utils.parsedate_to_datetime(response.headers["expires"]).timestamp()
    assert before + 60 <= expires <= after + 60
    assert "vary" not in response.headers


async def test_a_public_ttl_without_etag(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/catalogue")
    assert response.headers["cache-control"] == "public, max-age=120"
    assert "expires" in response.headers and "etag" not in response.headers


async def test_an_etag_without_ttl(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/motd")
    assert response.headers["etag"] == etag_of(b'"Have a nice day"')
    assert "cache-control" not in response.headers and "expires" not in response.headers


async def test_different_results_have_different_etags(client: httpx.AsyncClient) -> None:
    tea = await client.get("/actions/price", params={"item": "tea"})
    coffee = await client.get("/actions/price", params={"item": "coffee"})
    again = await client.get("/actions/price", params={"item": "tea"})
    assert tea.headers["etag"] != coffee.headers["etag"]
    assert tea.headers["etag"] == again.headers["etag"]


# --- If-None-Match -------------------------------------------------------------------------------


async def test_a_matching_if_none_match_is_a_304_without_a_body(client: httpx.AsyncClient) -> None:
    first = await client.get("/actions/price", params={"item": "tea"})
    response = await client.get(
        "/actions/price", params={"item": "tea"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["etag"] == first.headers["etag"]
    assert response.headers["cache-control"] == "private, max-age=60"
    assert email.utils.parsedate_to_datetime(response.headers["expires"])


@pytest.mark.parametrize(
    "if_none_match",
    ['"0000", {etag}', '{etag},"0000"', "W/{etag}", "*", '"x,y" , W/{etag}'],
)
async def test_lists_weak_tags_and_star_match(client: httpx.AsyncClient, if_none_match: str) -> None:
    etag = (await client.get("/actions/motd")).headers["etag"]
    response = await client.get("/actions/motd", headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304, if_none_match
    assert response.content == b""


async def test_several_if_none_match_lines_are_one_list(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/actions/motd")).headers["etag"]
    headers = [("If-None-Match", '"0000"'), ("If-None-Match", etag)]
    assert (await client.get("/actions/motd", headers=headers)).status_code == 304


@pytest.mark.parametrize("if_none_match", ['"0000"', 'W/"0000"', "garbage", "", '"unterminated'])
async def test_a_mismatch_is_a_full_200(client: httpx.AsyncClient, if_none_match: str) -> None:
    response = await client.get("/actions/motd", headers={"If-None-Match": if_none_match})
    assert response.status_code == 200
    assert response.json() == "Have a nice day"
    assert response.headers["etag"] == etag_of(response.content)


async def test_the_etag_of_another_result_does_not_match(client: httpx.AsyncClient) -> None:
    coffee = (await client.get("/actions/price", params={"item": "coffee"})).headers["etag"]
    response = await client.get("/actions/price", params={"item": "tea"}, headers={"If-None-Match": coffee})
    assert response.status_code == 200 and response.json() == {"item_cents": 300.0}


async def test_without_an_etag_if_none_match_is_not_evaluated(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/catalogue", headers={"If-None-Match": "*"})
    assert response.status_code == 200 and response.json() == ["tea", "coffee"]


# --- never elsewhere -----------------------------------------------------------------------------


async def test_other_methods_are_never_cached(client: httpx.AsyncClient) -> None:
    get = await client.get("/actions/stock", params={"item": "tea"})
    assert get.headers["cache-control"] == "private, max-age=30"
    post = await client.post("/actions/stock", json={"item": "tea"}, headers={"If-None-Match": get.headers["etag"]})
    assert post.status_code == 200 and post.json() == 3
    assert_uncached(post)


async def test_errors_are_never_cached(client: httpx.AsyncClient) -> None:
    invalid = await client.get("/actions/price")
    assert invalid.status_code == 422
    assert_uncached(invalid)
    failed = await client.get("/actions/price", params={"item": "boom"}, headers={"If-None-Match": "*"})
    assert failed.status_code == 500
    assert_uncached(failed)
    not_found = await client.get("/actions/nope")
    assert not_found.status_code == 404
    assert_uncached(not_found)


async def test_refusals_are_never_cached_and_come_before_the_condition(client: httpx.AsyncClient) -> None:
    unauthorized = await client.get("/actions/report", headers={"If-None-Match": "*"})
    assert unauthorized.status_code == 401
    assert_uncached(unauthorized)
    forbidden = await client.get(
        "/actions/report", headers={"If-None-Match": "*", "Authorization": f"Bearer {sign(SECRET, scope='x')}"}
    )
    assert forbidden.status_code == 403
    assert_uncached(forbidden)


# --- protected actions -----------------------------------------------------------------------------


async def test_a_protected_result_is_private_and_varies_by_authorization(client: httpx.AsyncClient) -> None:
    token = {"Authorization": f"Bearer {sign(SECRET, scope='reports:read')}"}
    response = await client.get("/actions/report", headers=token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=300"  # public was asked for
    assert response.headers["vary"] == "Authorization"
    again = await client.get("/actions/report", headers={**token, "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["vary"] == "Authorization"
    assert again.headers["cache-control"] == "private, max-age=300"


# --- HEAD, over a real server ------------------------------------------------------------------------


def test_head_has_the_headers_of_get_and_no_body(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        get = http.get("/actions/price", params={"item": "tea"})
        head = http.head("/actions/price", params={"item": "tea"})
        assert head.status_code == 200
        assert head.content == b""
        for name in ("cache-control", "etag", "content-type", "content-length"):
            assert head.headers[name] == get.headers[name], name
        assert "expires" in head.headers
        conditional = http.head(
            "/actions/price", params={"item": "tea"}, headers={"If-None-Match": get.headers["etag"]}
        )
        assert conditional.status_code == 304
        assert conditional.headers["etag"] == get.headers["etag"]


def test_a_304_over_a_real_server_has_no_body_and_no_content_length(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        etag = http.get("/actions/motd").headers["etag"]
        response = http.get("/actions/motd", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert "content-length" not in response.headers
    assert response.headers["etag"] == etag
