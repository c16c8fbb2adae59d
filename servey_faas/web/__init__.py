"""The web layer: REST routes, OpenAPI and docs pages on Starlette."""

from servey_faas.web.app import create_app

__all__ = ["create_app"]
