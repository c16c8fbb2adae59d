"""``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servey_faas.app import ServeyApp
from servey_faas.web.responses import JSONResponse


def docs_routes(app: ServeyApp) -> list[BaseRoute]:
    """Routes serving the OpenAPI document (built once, here) and the docs pages."""
    from servey_faas.web.openapi import build_openapi

    body = JSONResponse(build_openapi(app)).body

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return [Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
