"""The web layer: REST routes, OpenAPI and docs pages on Starlette.

``create_app`` is resolved on first use (PEP 562), so that the server-independent parts
(:mod:`servey_faas.web.handling`, :mod:`servey_faas.web.params`) import without Starlette: an
action's OpenFaaS function uses them without any web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servey_faas.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from servey_faas.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
