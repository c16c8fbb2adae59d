"""``/openapi.json``, ``/docs`` (Swagger UI), ``/redoc`` (ReDoc) and ``/docs/assets/...``.

Everything is prepared once, when the routes are made: the OpenAPI document is built and encoded,
the two HTML pages are rendered and the asset files are located. Requests only copy bytes.

The pages use relative URLs (``openapi.json``, ``docs/assets/...``), so they keep working when the
app is served under a path prefix (for example behind the OpenFaaS gateway's
``/function/<name>/``). Assets are served from the installed ``swagger-ui-bundle-v2`` package and
the ReDoc bundle vendored in ``servey_faas/web/static/`` (see :mod:`servey_faas.web._assets`), never
from a CDN, with ``Cache-Control: public, max-age=31536000, immutable`` under versioned URLs.

The ReDoc bundle is stored gzip-compressed: it is sent as is with ``Content-Encoding: gzip`` when the
request's ``Accept-Encoding`` allows gzip (RFC 9110 §12.5.3), and decompressed otherwise; both answers
carry ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from servey_faas.app import ServeyApp
from servey_faas.web._assets import DocsAssets, GzippedFile
from servey_faas.web.openapi import DEFAULT_TITLE, openapi_bytes
from servey_faas.web.responses import error_response

OPENAPI_PATH = "/openapi.json"
SWAGGER_UI_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"

#: One year, the longest lifetime RFC 9111 readers expect; URLs change when the files do.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
PAGE_CACHE_CONTROL = "no-cache"
#: ReDoc 2.x shows a logo loaded from cdn.redoc.ly in its side menu; this policy keeps the ``/redoc``
#: page from loading images or data from any other origin (the logo then hides itself).
REDOC_CONTENT_SECURITY_POLICY = "img-src 'self' data:; connect-src 'self'"

#: ``qvalue`` of RFC 9110 §12.4.2: 0 to 1 with at most three decimals.
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def docs_routes(
    app: ServeyApp,
    *,
    title: str = DEFAULT_TITLE,
    version: str | None = None,
    description: str | None = None,
    openapi: bytes | None = None,
) -> list[BaseRoute]:
    """Routes serving the OpenAPI document (built once, here), the docs pages and their assets.

    ``title``, ``version`` and ``description`` go to :func:`~servey_faas.web.openapi.build_openapi`;
    ``title`` also names the pages. ``openapi`` is the document's bytes built earlier (as the API
    router's build context carries them: :func:`~servey_faas.web.openapi.openapi_bytes`), served instead of building it.

    :raises ActionDefinitionError: from building the document.
    :raises ConfigurationError: when the Swagger UI / ReDoc files cannot be found.
    """
    body = openapi if openapi is not None else openapi_bytes(app, title=title, version=version, description=description)
    assets = DocsAssets.locate()
    base = f"{ASSETS_PATH.lstrip('/')}/{assets.token}"
    swagger_page = _swagger_ui_page(title, base).encode()
    redoc_page = _redoc_page(title, base).encode()

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def swagger_ui(request: Request) -> Response:
        return Response(
            swagger_page, media_type="text/html; charset=utf-8", headers={"Cache-Control": PAGE_CACHE_CONTROL}
        )

    async def redoc(request: Request) -> Response:
        return Response(
            redoc_page,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": PAGE_CACHE_CONTROL, "Content-Security-Policy": REDOC_CONTENT_SECURITY_POLICY},
        )

    async def asset(request: Request) -> Response:
        found = assets.files.get(request.path_params["name"])
        if found is None or request.path_params["token"] != assets.token:
            return error_response(404, "not_found", "no such docs asset")
        headers = {"Cache-Control": ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
        source = found.source
        if isinstance(source, GzippedFile):
            headers["Vary"] = "Accept-Encoding"
            if not accepts_gzip(request.headers.get("accept-encoding")):
                return Response(source.content(), media_type=found.media_type, headers=headers)
            headers["Content-Encoding"] = "gzip"
            source = source.path
        if isinstance(source, Path):
            return FileResponse(source, media_type=found.media_type, headers=headers)
        return Response(source, media_type=found.media_type, headers=headers)

    return [
        Route(OPENAPI_PATH, openapi_json, methods=["GET"], include_in_schema=False),
        Route(SWAGGER_UI_PATH, swagger_ui, methods=["GET"], include_in_schema=False),
        Route(REDOC_PATH, redoc, methods=["GET"], include_in_schema=False),
        Route(f"{ASSETS_PATH}/{{token}}/{{name}}", asset, methods=["GET"], include_in_schema=False),
    ]


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` field value allows the ``gzip`` content coding (RFC 9110 §12.5.3).

    ``gzip`` (or its alias ``x-gzip``, RFC 9110 §8.4.1.3) with a weight above 0 allows it, and so does
    ``*`` above 0 unless gzip is listed with ``q=0``. No field (None) and an empty one ask for no
    coding: False. A malformed weight counts as 0.
    """
    if not accept_encoding:
        return False
    wildcard = False
    for member in accept_encoding.split(","):
        coding, _, parameters = member.partition(";")
        coding = coding.strip().lower()
        weight = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.fullmatch(value) else 0.0
        if coding in ("gzip", "x-gzip"):
            return weight > 0
        if coding == "*":
            wildcard = weight > 0
    return wildcard


def _swagger_ui_page(title: str, assets: str) -> str:
    name = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{OPENAPI_PATH.lstrip("/")}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-init.js"></script>
</body>
</html>
"""


def _redoc_page(title: str, assets: str) -> str:
    name = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="{OPENAPI_PATH.lstrip("/")}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""
