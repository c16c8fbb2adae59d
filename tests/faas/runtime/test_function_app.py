"""The function's WSGI app in-process: routes, errors, auth, and the same bytes as the dev server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from servey_faas import ETagCacheControl, ScopeAccessControl, WebTrigger, action
from servey_faas.app import ServeyApp
from servey_faas.authorization import Authorization
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError
from servey_faas.faas.runtime import function_app
from servey_faas.settings import Settings
from servey_faas.web import create_app
from servey_faas.web.handling import web_routes

SECRET = "k" * 32


def client_for(app: ServeyApp, action_name: str, *, function_auth: bool = False) -> httpx.Client:
    wsgi = function_app(app, action_name, function_auth=function_auth)
    return httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://function")


@pytest.fixture
def greet(test_app: ServeyApp) -> Iterator[httpx.Client]:
    with client_for(test_app, "greet") as client:
        yield client


def test_root_post_get_and_rest_path(greet: httpx.Client) -> None:
    assert greet.post("/", json={"name": "Ada"}).json() == "Hello Ada!"
    assert greet.get("/", params={"name": "Ada", "punctuation": "?"}).json() == "Hello Ada?"
    response = greet.get("/actions/greet", params={"name": "Bo"})
    assert (response.status_code, response.headers["content-type"], response.json()) == (
        200,
        "application/json",
        "Hello Bo!",
    )
    assert response.headers["content-length"] == str(len(response.content))
    head = greet.head("/", params={"name": "Ada"})
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(b'"Hello Ada!"')))


def test_errors(greet: httpx.Client) -> None:
    missing = greet.post("/", json={})
    assert missing.status_code == 422
    assert missing.json() == {
        "error": "validation_error",
        "message": "invalid params",
        "errors": [{"location": ["body", "name"], "message": "field required"}],
    }
    query = greet.get("/", params={"nam": "x"})
    assert query.status_code == 422
    assert {"location": ["query", "nam"], "message": "unexpected field"} in query.json()["errors"]
    malformed = greet.post("/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]) == (400, "bad_request")
    not_json = greet.post("/", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["error"]) == (400, "bad_request")
    assert greet.post("/", json=["x"]).status_code == 400
    unknown = greet.get("/elsewhere")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not_found", "message": "Not Found"})
    assert greet.get("/actions/greet/").status_code == 404  # no redirect: it would drop /function/<name>
    put = greet.put("/", json={"name": "x"})
    assert (put.status_code, put.json()["error"]) == (405, "method_not_allowed")
    assert put.headers["allow"] == "GET, HEAD, POST"
    wrong = greet.post("/actions/greet", json={"name": "x"})
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD")
    assert greet.post("/_/ready").status_code == 405


def test_an_empty_post_is_an_empty_params_object(test_app: ServeyApp) -> None:
    """cron-connector and the queue-worker POST without a body or a content type
    (``docs/openfaas.md#discovery-invocation-and-auth``)."""
    with client_for(test_app, "tick") as client:
        response = client.post("/", headers={"X-Topic": "cron-function", "X-Connector": "cron-connector"})
    assert (response.status_code, response.json()) == (200, 1)


def test_a_failing_action_is_a_500_without_details(test_app: ServeyApp, caplog: pytest.LogCaptureFixture) -> None:
    with client_for(test_app, "explode") as client:
        response = client.post("/", json={"reason": "secret detail"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
    assert "secret detail" in caplog.text  # the traceback goes to the function's log


def test_async_actions_path_params_and_nested_bodies(test_app: ServeyApp) -> None:
    wsgi = function_app(test_app, "move")
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://function") as client:
            assert client.post("/points/3", json={"point": {"x": 1, "y": 2}}).json() == {"x": 4, "y": 2}
            assert client.post("/", json={"dx": 3, "point": {"x": 1, "y": 2}}).json() == {"x": 4, "y": 2}
            bad = client.post("/points/x", json={"point": {"x": 1}})
            assert client.post("/points/", json={"point": {"x": 1, "y": 2}}).status_code == 404  # empty segment
    finally:
        wsgi.close()
        wsgi.close()  # idempotent
    assert bad.status_code == 422
    locations = [e["location"] for e in bad.json()["errors"]]
    assert ["path", "dx"] in locations and ["body", "point", "y"] in locations


def test_ready_path(greet: httpx.Client) -> None:
    response = greet.get("/_/ready")
    assert (response.status_code, response.text, response.headers["content-type"]) == (
        200,
        "OK",
        "text/plain; charset=utf-8",
    )


def protected_app() -> ServeyApp:
    @action(triggers=(WebTrigger("GET"),), access_control=ScopeAccessControl("orders:read"))
    def whoami(auth: Authorization) -> str:
        return auth.subject_id or ""

    settings = Settings.load({"JWT_SECRET_KEY": SECRET}, Path("/nonexistent"))
    return ServeyApp.from_registry(ActionRegistry([whoami.__servey_action__]), settings)  # type: ignore[attr-defined]


def token(subject: str, scope: str = "orders:read") -> str:
    return jwt.encode({"sub": subject, "scope": scope, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")


def test_end_user_tokens_are_verified_by_the_function() -> None:
    with client_for(protected_app(), "whoami") as client:
        none = client.get("/")
        assert (none.status_code, none.headers["www-authenticate"]) == (401, 'Bearer realm="servey_faas"')
        ok = client.get("/", headers={"Authorization": f"Bearer {token('ann')}"})
        assert (ok.status_code, ok.json()) == (200, "ann")
        forged = jwt.encode({"sub": "eve", "scope": "orders:read", "exp": int(time.time()) + 60}, "x" * 32)
        assert client.get("/", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        assert client.get("/", headers={"Authorization": f"Bearer {token('bo', 'other')}"}).status_code == 403
        granted_by_an_object = jwt.encode(
            {"sub": "eve", "scope": {"orders:read": True}, "exp": int(time.time()) + 60}, SECRET
        )
        refused = client.get("/", headers={"Authorization": f"Bearer {granted_by_an_object}"})
        assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        # without jwt_auth the header is not read in place of Authorization
        assert client.get("/", headers={"X-Servey-Authorization": f"Bearer {token('ann')}"}).status_code == 401


def test_with_function_auth_the_function_token_is_not_an_end_user_token() -> None:
    """jwt_auth=true: Authorization holds the OpenFaaS function token the watchdog checked
    (``docs/openfaas.md#token-checks-in-of-watchdog``)."""
    function_token = "eyJhbGciOiJFUzI1NiJ9.openfaas-function-token.sig"
    with client_for(protected_app(), "whoami", function_auth=True) as client:
        alone = client.get("/", headers={"Authorization": f"Bearer {function_token}"})
        assert alone.status_code == 401  # no end-user token: the function token is not taken for one
        both = client.get(
            "/",
            headers={"Authorization": f"Bearer {function_token}", "X-Servey-Authorization": f"Bearer {token('cy')}"},
        )
        assert (both.status_code, both.json()) == (200, "cy")
        assert client.get("/", headers={"X-Servey-Authorization": "Bearer not.a.jwt"}).status_code == 401


def test_open_actions_work_behind_jwt_auth(test_app: ServeyApp) -> None:
    with client_for(test_app, "greet", function_auth=True) as client:
        response = client.post("/", json={"name": "Ada"}, headers={"Authorization": "Bearer function-token"})
    assert (response.status_code, response.json()) == (200, "Hello Ada!")


def test_root_answers_the_actions_own_methods_and_post() -> None:
    @action(triggers=(WebTrigger("PUT", "/notes/{note_id}"),))
    def put_note(note_id: str, text: str) -> str:
        return f"{note_id}={text}"

    @action(triggers=(WebTrigger("DELETE"),))
    def drop_note(note_id: str) -> str:
        return f"dropped {note_id}"

    app = ServeyApp.from_registry(ActionRegistry([put_note.__servey_action__, drop_note.__servey_action__]))  # type: ignore[attr-defined]
    with client_for(app, "put_note") as client:
        assert client.put("/", json={"note_id": "n1", "text": "a"}).json() == "n1=a"
        assert client.post("/", json={"note_id": "n1", "text": "b"}).json() == "n1=b"  # as the queue-worker calls
        assert client.put("/notes/n2", json={"text": "c"}).json() == "n2=c"
        refused = client.get("/", params={"note_id": "n1", "text": "a"})  # a read never runs a PUT action
        assert (refused.status_code, refused.headers["allow"]) == (405, "POST, PUT")
    with client_for(app, "drop_note") as client:
        assert client.delete("/", params={"note_id": "n3"}).json() == "dropped n3"
        assert client.post("/", json={"note_id": "n4"}).json() == "dropped n4"
        assert client.request("PATCH", "/", json={}).headers["allow"] == "DELETE, POST"


def test_a_function_that_reads_no_token_and_has_no_key_ignores_authorization(test_app: ServeyApp) -> None:
    bearer = {"Authorization": f"Bearer {token('ann')}"}
    keyless = ServeyApp.from_registry(ActionRegistry([test_app.actions["greet"]]), Settings())
    with client_for(keyless, "greet") as client:
        assert client.post("/", json={"name": "Ada"}, headers=bearer).json() == "Hello Ada!"
        assert client.post("/", json={"name": "Ada"}, headers={"Authorization": "junk"}).status_code == 200
    keyed = ServeyApp.from_registry(ActionRegistry([test_app.actions["greet"]]), protected_app().settings)
    with client_for(keyed, "greet") as client:  # with the key it verifies, as the dev server does
        assert client.post("/", json={"name": "Ada"}, headers=bearer).status_code == 200
        assert client.post("/", json={"name": "Ada"}, headers={"Authorization": "junk"}).status_code == 401


def test_function_app_names_its_action(test_app: ServeyApp) -> None:
    with pytest.raises(ConfigurationError, match="exactly one action; this app has"):
        function_app(test_app)


# --- the same bytes as the dev server ----------------------------------------------------------------


def cached_app() -> ServeyApp:
    @action(triggers=(WebTrigger("GET", "/items/{item}"),), cache_control=ETagCacheControl())
    def item(item: str, count: int = 1) -> list[str]:
        return [item] * count

    return ServeyApp.from_registry(ActionRegistry([item.__servey_action__]))  # type: ignore[attr-defined]


def _requests(app: ServeyApp, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(method, url, httpx kwargs)`` for each REST route of ``name``: good and bad params."""
    out = []
    for route in web_routes({name: app.invoker(name)}):
        path = route.path
        for param in route.trigger.path_params:
            path = path.replace("{" + param + "}", "7")
        if route.trigger.reads_body:
            bodies: list[dict[str, Any]] = [{"content": b"{"}, {"json": {}}, {"json": {"x": 1}}, {"json": [1]}]
            out += [(route.method, path, kwargs) for kwargs in bodies]
        else:
            out += [(route.method, path, {"params": q}) for q in ({}, {"x": "1"}, {"count": "nope"})]
            # a param given twice, and digits int() reads but JSON does not have
            names = [p.name for p in route.invoker.params if p.name not in route.trigger.path_params]
            out += [(route.method, path, {"params": [(n, "1_000"), (n, "\u0663")]}) for n in names[:1]]
        for example in route.invoker.action.examples:
            params = route.invoker.example_params(example.params)
            rest = {k: v for k, v in params.items() if k not in route.trigger.path_params}
            kwargs = {"json": rest} if route.trigger.reads_body else {"params": {k: str(v) for k, v in rest.items()}}
            out.append((route.method, path, kwargs))
    return out


_HEADERS = ("content-type", "content-length", "allow", "www-authenticate", "etag", "cache-control", "vary")


@pytest.mark.anyio
async def test_every_reply_is_the_dev_servers(demo_app: ServeyApp) -> None:
    bearer = [f"Bearer {token('ann')}", f"Bearer {token('bo', 'other')}", "Bearer not.a.jwt", "Basic eDp5"]
    hostile = [{"scope": 5}, {"scope": {"orders:read": True}}, {"exp": 10**30}, {"sub": ["ann"]}]
    bearer += [f"Bearer {jwt.encode({'exp': int(time.time()) + 60, **claims}, SECRET)}" for claims in hostile]
    extra = [("GET", "/actions/whoami", {"headers": {"Authorization": value}}) for value in bearer]
    apps = [(demo_app, name, []) for name in demo_app.invokers]
    apps += [(cached_app(), "item", []), (protected_app(), "whoami", extra)]
    compared = 0
    for app, name, more in apps:
        dev = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(app, schedules=False)), base_url="http://d"
        )
        wsgi = function_app(app, name)
        function = httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://f")
        try:
            for method, url, kwargs in _requests(app, name) + more:
                expected = await dev.request(method, url, **kwargs)
                got = function.request(method, url, **kwargs)
                if "etag" in expected.headers:  # and a conditional request with it
                    conditional = {**kwargs, "headers": {"If-None-Match": expected.headers["etag"]}}
                    assert (await dev.request(method, url, **conditional)).status_code == 304
                    assert function.request(method, url, **conditional).status_code == 304
                assert (got.status_code, got.content) == (expected.status_code, expected.content), (name, method, url)
                for header in _HEADERS:
                    assert got.headers.get(header) == expected.headers.get(header), (name, method, url, header)
                compared += 1
        finally:
            await dev.aclose()
            function.close()
            wsgi.close()
    assert compared >= 35


@pytest.mark.anyio
async def test_an_async_action_past_its_timeout_is_the_dev_servers_504() -> None:
    @action(triggers=(WebTrigger("GET", "/wait"),), timeout=0.05)
    async def wait() -> str:
        await asyncio.Event().wait()
        return "never"

    app = ServeyApp.from_registry(ActionRegistry([wait.__servey_action__]))  # type: ignore[attr-defined]
    dev = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(app, schedules=False)), base_url="http://d")
    wsgi = function_app(app, "wait")
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://f") as function:
            got = await asyncio.to_thread(function.get, "/wait")
        expected = await dev.get("/wait")
    finally:
        await dev.aclose()
        wsgi.close()
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    assert got.status_code == 504
    assert got.json() == {
        "error": "gateway_timeout",
        "message": "action 'wait' did not finish within its timeout of 0.05 s",
    }
