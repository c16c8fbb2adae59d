"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc): local assets only, served with long-lived caching."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from starlette.applications import Starlette

from servey_faas.app import ServeyApp
from servey_faas.web import create_app
from servey_faas.web.docs import docs_routes

pytestmark = pytest.mark.anyio

JS_TYPES = ("text/javascript", "application/javascript")


class _References(HTMLParser):
    """Every URL a page loads or points at: src, href, spec-url and data-openapi-url attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url", "data-openapi-url") and value is not None:
                self.urls.append((tag, name, value))


def references(html: str) -> list[tuple[str, str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def is_local(url: str) -> bool:
    """A URL on the same origin: no scheme, no ``//host``."""
    return re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)", url) is None


@pytest.mark.parametrize(
    ("page", "loader", "spec_attribute"),
    [("/docs", "swagger-ui-bundle.js", "data-openapi-url"), ("/redoc", "redoc.standalone.js", "spec-url")],
)
async def test_docs_pages_load_only_local_assets(
    demo_asgi: Starlette, page: str, loader: str, spec_attribute: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://testserver") as client:
        response = await client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        urls = references(response.text)
        assert urls
        assert all(is_local(url) for _, _, url in urls), urls
        assert "http://" not in response.text and "https://" not in response.text
        scripts = [url for tag, attr, url in urls if tag == "script"]
        assert any(url.endswith(loader) for url in scripts)
        spec_urls = [url for _, attr, url in urls if attr == spec_attribute]
        assert len(spec_urls) == 1
        for tag, attr, url in urls:
            target = response.url.join(url)
            loaded = await client.get(target)
            assert loaded.status_code == 200, (url, loaded.status_code)
            content_type = loaded.headers["content-type"]
            if url == spec_urls[0]:
                assert target.path == "/openapi.json"
                assert content_type == "application/json"
                continue
            assert target.path.startswith("/docs/assets/")
            assert loaded.headers["cache-control"] == "public, max-age=31536000, immutable"
            if tag == "script":
                assert content_type.startswith(JS_TYPES), (url, content_type)
                assert len(loaded.content) > 100
            elif attr == "href" and url.endswith(".css"):
                assert content_type.startswith("text/css"), (url, content_type)
                assert b"swagger-ui" in loaded.content


async def test_swagger_ui_is_started_on_the_served_document_without_the_online_validator(demo_asgi: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://testserver") as client:
        page = await client.get("/docs")
        init_url = next(url for tag, _, url in references(page.text) if tag == "script" and url.endswith("-init.js"))
        script = (await client.get(page.url.join(init_url))).text
        bundle_url = next(url for tag, _, url in references(page.text) if url.endswith("swagger-ui-bundle.js"))
        bundle = await client.get(page.url.join(bundle_url))
    assert 'getAttribute("data-openapi-url")' in script
    assert "validatorUrl: null" in script
    assert b"SwaggerUIBundle" in bundle.content


async def test_unknown_or_stale_asset_urls_are_404(demo_asgi: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://testserver") as client:
        page = await client.get("/redoc")
        (asset,) = [url for tag, _, url in references(page.text) if tag == "script"]
        stale = re.sub(r"/assets/[^/]+/", "/assets/0123456789ab/", asset)
        missing = asset.rsplit("/", 1)[0] + "/LICENSE"
        for url in (stale, missing, asset.rsplit("/", 1)[0] + "/..%2F..%2Fpyproject.toml"):
            response = await client.get(page.url.join(url))
            assert response.status_code == 404, url
            assert response.json()["error"] == "not_found"


async def test_pages_work_under_a_path_prefix(demo_app: ServeyApp) -> None:
    # Behind the OpenFaaS gateway the app is reached under /function/<name>/: relative URLs follow.
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/function/api", app=create_app(demo_app))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://testserver") as client:
        page = await client.get("/function/api/docs")
        assert page.status_code == 200
        for _, _, url in references(page.text):
            target = page.url.join(url)
            assert target.path.startswith("/function/api/")
            assert (await client.get(target)).status_code == 200, url


async def test_the_title_names_the_pages_and_is_escaped(demo_app: ServeyApp) -> None:
    app = Starlette(routes=docs_routes(demo_app, title="Shop <API>", version="3.0.0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        docs = (await client.get("/docs")).text
        redoc = (await client.get("/redoc")).text
        info = (await client.get("/openapi.json")).json()["info"]
    assert "<title>Shop &lt;API&gt; · Swagger UI</title>" in docs
    assert "<title>Shop &lt;API&gt; · ReDoc</title>" in redoc
    assert info == {"title": "Shop <API>", "version": "3.0.0"}
