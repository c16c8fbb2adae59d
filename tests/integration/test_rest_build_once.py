"""Find once, build once: discovery, invokers and the OpenAPI document are not redone per request
(``docs/architecture.md#a-request-through-the-dev-server``)."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from servey_faas.invocation import ActionInvoker
from servey_faas.web import create_app
from tests.demo import REPO_ROOT

from .live_server import CLIENT_TIMEOUT, LiveServer


def count_calls(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list[tuple[Any, ...]]:
    """Count calls of ``module.name`` wherever a ``servey_faas`` module holds it (``from x import
    name`` makes a second reference); returns the list the calls' args are appended to."""
    original: Callable[..., Any] = getattr(importlib.import_module(module), name)
    calls: list[tuple[Any, ...]] = []

    @functools.wraps(original)
    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    patched = 0
    for module_name, loaded in list(sys.modules.items()):
        if module_name.split(".")[0] == "servey_faas" and getattr(loaded, name, None) is original:
            monkeypatch.setattr(loaded, name, counting)
            patched += 1
    assert patched, f"{module}.{name} is referenced nowhere"
    return calls


def test_discovery_invokers_and_openapi_are_built_once(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    monkeypatch.delenv("SERVEY_ACTION_PATH", raising=False)
    importlib.import_module("servey_faas.web.openapi")
    discoveries = count_calls(monkeypatch, "servey_faas.discovery", "find_actions")
    openapi_builds = count_calls(monkeypatch, "servey_faas.web.openapi", "build_openapi")
    invokers_built: list[str] = []
    original_init = ActionInvoker.__init__

    def counting_init(self: ActionInvoker, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        invokers_built.append(self.name)

    monkeypatch.setattr(ActionInvoker, "__init__", counting_init)

    asgi_app = create_app()  # finds the actions from the settings, as the dev server does
    base_url = live_server(asgi_app)
    assert discoveries == [("actions",)]
    assert len(openapi_builds) == 1
    assert sorted(invokers_built) == sorted(asgi_app.state.servey.actions)  # one invoker per action
    built_at_start = list(invokers_built)

    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        documents = {client.get("/openapi.json").content for _ in range(20)}
        for i in range(20):
            assert client.get("/actions/say-hello", params={"name": str(i)}).json() == f"Hello {i}!"
            assert client.get(f"/orders/{i}/lines/1").status_code == 200
            assert client.delete(f"/orders/{i}").status_code == 200
            assert (
                client.put("/actions/to-fahrenheit", json={"reading": {"station": "X", "celsius": i}}).status_code
                == 200
            )
            assert client.get("/actions/current-temperature", params={"city": "Oslo"}).status_code == 200
            assert client.get("/actions/say-hello").status_code == 422
            assert client.get("/actions/no-such-action").status_code == 404

    assert len(documents) == 1
    assert discoveries == [("actions",)]
    assert len(openapi_builds) == 1
    assert invokers_built == built_at_start
