"""A tiny function server honouring the contract ``remote()`` relies on: the action at ``/``,
params as a JSON object in a POST body, the JSON result in a 200, errors as non-2xx JSON."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servey_faas.action import get_action
from servey_faas.errors import ValidationError
from servey_faas.invocation import ActionInvoker
from servey_faas.schemas import TypeCodec


def function_app(fn: object) -> Starlette:
    action = get_action(fn)
    assert action is not None
    invoker = ActionInvoker(action, TypeCodec())

    async def handle(request: Request) -> JSONResponse:
        try:
            params = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "bad_request", "message": "body is not JSON"}, 400)
        try:
            result = await invoker.invoke(params)
        except ValidationError as e:
            errors = [{"loc": list(f.location), "msg": f.message} for f in e.errors]
            return JSONResponse({"error": "validation_error", "errors": errors}, 422)
        except Exception as e:
            return JSONResponse({"error": "internal_error", "message": str(e)}, 500)
        return JSONResponse(result)

    return Starlette(routes=[Route("/", handle, methods=["POST"])])
