"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc): local assets only, served with long-lived caching.

Swagger UI comes from the installed ``swagger-ui-bundle-v2``; ReDoc is vendored gzip-compressed in
``servey_faas/web/static/`` and must reach gzip and non-gzip clients alike, byte for byte the file
its README names.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import urllib.request
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from servey_faas.app import ServeyApp
from servey_faas.errors import ConfigurationError
from servey_faas.web import _assets, create_app
from servey_faas.web._assets import REDOC_VERSION, STATIC_DIR, SWAGGER_UI_DISTRIBUTION, DocsAssets, GzippedFile
from servey_faas.web.docs import REDOC_CONTENT_SECURITY_POLICY, accepts_gzip, docs_routes
from tests.demo import REPO_ROOT

pytestmark = pytest.mark.anyio

JS_TYPES = ("text/javascript", "application/javascript")
#: Safety net for the subprocess test, not a performance threshold (seconds).
SUBPROCESS_TIMEOUT = 120
MIB = 1024 * 1024


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


# --- the vendored ReDoc bundle, gzip-compressed --------------------------------------------------


def redoc_readme_facts() -> tuple[str, str]:
    """(version, sha256 of the raw file) as ``servey_faas/web/static/README.md`` states them."""
    readme = (STATIC_DIR / "README.md").read_text(encoding="utf-8")
    version = re.search(r"ReDoc \*\*([0-9.]+)\*\*", readme)
    digest = re.search(r"sha256 of the raw file \| `([0-9a-f]{64})`", readme)
    assert version is not None and digest is not None, "README.md lost its version or sha256 line"
    assert f"`redoc@{version[1]}`" in readme
    return version[1], digest[1]


def test_the_vendored_redoc_bundle_is_the_file_its_readme_names() -> None:
    version, digest = redoc_readme_facts()
    raw = gzip.decompress((STATIC_DIR / "redoc.standalone.js.gz").read_bytes())
    assert version == REDOC_VERSION
    assert version.startswith("2.")  # ReDoc 3 sends telemetry by default
    assert hashlib.sha256(raw).hexdigest() == digest
    assert f'"{REDOC_VERSION}"'.encode() in raw  # the version the bundle reports about itself
    notices = (STATIC_DIR / "redoc.standalone.js.LICENSE.txt").read_text(encoding="utf-8")
    assert f'Version: "{REDOC_VERSION}"' in notices
    assert (STATIC_DIR / "redoc.LICENSE").read_text(encoding="utf-8").startswith("The MIT License")


def test_no_vendored_file_is_over_one_mebibyte() -> None:
    sizes = {path.name: path.stat().st_size for path in STATIC_DIR.iterdir()}
    assert "redoc.standalone.js.gz" in sizes
    assert all(size <= MIB for size in sizes.values()), sizes


async def redoc_bundle_url(client: httpx.AsyncClient) -> httpx.URL:
    page = await client.get("/redoc")
    (url,) = [url for tag, _, url in references(page.text) if tag == "script"]
    return page.url.join(url)


async def test_the_redoc_bundle_is_sent_gzipped_to_gzip_clients_and_decompressed_to_the_others(
    demo_asgi: Starlette,
) -> None:
    _, digest = redoc_readme_facts()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://testserver") as client:
        url = await redoc_bundle_url(client)
        async with client.stream("GET", url, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.5"}) as zipped:
            raw_body = b"".join([chunk async for chunk in zipped.aiter_raw()])
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        bare = client.build_request("GET", url)
        del bare.headers["Accept-Encoding"]
        unasked = await client.send(bare)
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) == len(raw_body)
    body = gzip.decompress(raw_body)
    for response in (zipped, plain, unasked):
        assert response.headers["content-type"].startswith(JS_TYPES)
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    for response in (plain, unasked):
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert response.content == body
        assert int(response.headers["content-length"]) == len(body)
    assert hashlib.sha256(body).hexdigest() == digest
    assert body.startswith(b"/*! For license information please see redoc.standalone.js.LICENSE.txt */")


def test_a_real_server_sends_the_redoc_bundle_both_ways(demo_server: str, demo_asgi: Starlette) -> None:
    # Plain urllib: it sends no Accept-Encoding unless told, and never decodes.
    with urllib.request.urlopen(f"{demo_server}/redoc", timeout=30) as page:
        (url,) = [u for tag, _, u in references(page.read().decode()) if tag == "script"]
    bundle = f"{demo_server}/{url}"
    with urllib.request.urlopen(urllib.request.Request(bundle, headers={"Accept-Encoding": "gzip"}), timeout=30) as r:
        zipped, zipped_encoding = r.read(), r.headers["Content-Encoding"]
    with urllib.request.urlopen(bundle, timeout=30) as r:
        plain, plain_encoding = r.read(), r.headers["Content-Encoding"]
    assert (zipped_encoding, plain_encoding) == ("gzip", None)
    assert gzip.decompress(zipped) == plain
    assert hashlib.sha256(plain).hexdigest() == redoc_readme_facts()[1]


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("gzip;q=0.001", True),
        ("gzip ; Q=1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("deflate, br", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("*, gzip;q=0", False),
        ("gzip;q=high", False),
        ("gzip;q=2", False),
    ],
)
def test_accept_encoding_allows_gzip(accept_encoding: str | None, expected: bool) -> None:
    assert accepts_gzip(accept_encoding) is expected


def test_the_bundle_is_decompressed_once(tmp_path: Path) -> None:
    path = tmp_path / "a.js.gz"
    path.write_bytes(gzip.compress(b"console.log(1);"))
    bundle = GzippedFile(path)
    first = bundle.content()
    path.unlink()  # a second read from disk would fail now
    assert bundle.content() is first
    assert first == b"console.log(1);"


async def test_the_redoc_page_may_load_nothing_from_other_origins(demo_asgi: Starlette) -> None:
    # ReDoc 2.x's side menu shows a logo from cdn.redoc.ly: the policy keeps the browser from fetching it.
    assert REDOC_CONTENT_SECURITY_POLICY == "img-src 'self' data:; connect-src 'self'"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://testserver") as client:
        response = await client.get("/redoc")
        bundle = gzip.decompress((STATIC_DIR / "redoc.standalone.js.gz").read_bytes())
    assert response.headers["content-security-policy"] == REDOC_CONTENT_SECURITY_POLICY
    assert b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"' in bundle  # what the policy is for


# --- where the files come from -------------------------------------------------------------------


def test_swagger_ui_comes_from_swagger_ui_bundle_v2() -> None:
    assets = DocsAssets.locate()
    distribution = metadata.distribution(SWAGGER_UI_DISTRIBUTION)
    bundle = assets.files["swagger-ui-bundle.js"].source
    assert isinstance(bundle, Path)
    assert bundle.is_relative_to(Path(str(distribution.locate_file("swagger_ui_bundle"))))
    assert assets.swagger_ui_version == distribution.version
    assert assets.swagger_ui_version.split(".")[0] == "5"  # OpenAPI 3.1 needs Swagger UI 5
    assert f'"{assets.swagger_ui_version}"'.encode() in bundle.read_bytes()
    assert assets.redoc_version == REDOC_VERSION
    assert isinstance(assets.files["redoc.standalone.js"].source, GzippedFile)


def test_servey_faas_requires_swagger_ui_bundle_v2_and_not_drf_spectacular_sidecar_or_django() -> None:
    names = {
        re.match(r"[A-Za-z0-9._-]+", requirement)[0].lower().replace("_", "-")  # type: ignore[index]
        for requirement in metadata.requires("servey_faas") or ()
        if "extra ==" not in requirement
    }
    assert SWAGGER_UI_DISTRIBUTION in names
    assert not names & {"drf-spectacular-sidecar", "django"}


def test_serving_the_docs_imports_neither_django_nor_the_asset_packages() -> None:
    # A fresh interpreter: builds the demo app, fetches both pages and every file they load, then
    # lists the modules of Django, drf-spectacular-sidecar and swagger-ui-bundle(-v2) it has imported.
    script = f"""
import asyncio, json, re, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import httpx
from pathlib import Path
from servey_faas.app import ServeyApp
from servey_faas.settings import Settings
from servey_faas.web import create_app

app = create_app(ServeyApp.load(Settings.load(environ={{}}, project_dir=Path({str(REPO_ROOT)!r}))))

async def fetch_all():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        fetched = 0
        for page in ("/docs", "/redoc"):
            html = await client.get(page)
            for url in re.findall(r'(?:src|href)="([^"]+)"', html.text):
                response = await client.get(html.url.join(url))
                assert response.status_code == 200, url
                fetched += 1
        return fetched

fetched = asyncio.run(fetch_all())
roots = ("django", "drf_spectacular_sidecar", "swagger_ui_bundle")
print(json.dumps({{"fetched": fetched, "modules": sorted(m for m in sys.modules if m.split(".")[0] in roots)}}))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["fetched"] >= 4  # favicon, stylesheet, two scripts on /docs; favicon, bundle on /redoc
    assert result["modules"] == []


def test_a_missing_swagger_ui_package_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_assets, "SWAGGER_UI_DISTRIBUTION", "servey-faas-no-such-distribution")
    with pytest.raises(ConfigurationError, match="pip install servey-faas-no-such-distribution"):
        DocsAssets.locate()


def test_a_missing_vendored_file_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_assets, "STATIC_DIR", tmp_path)
    with pytest.raises(ConfigurationError, match=r"redoc\.standalone\.js\.gz"):
        DocsAssets.locate()
