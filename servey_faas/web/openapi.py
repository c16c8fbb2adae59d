"""The OpenAPI 3.1 document of an app (placeholder until the generator lands)."""

from __future__ import annotations

from typing import Any

from servey_faas.app import ServeyApp


def build_openapi(app: ServeyApp) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "servey_faas", "version": "0.1.0"}, "paths": {}}
