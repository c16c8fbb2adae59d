"""The function entrypoint in-process: routes, errors, secrets, upstream address, import path."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from servey_faas import ScopeAccessControl, WebTrigger, action
from servey_faas.app import ServeyApp
from servey_faas.authorization import Authorization
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError, ValidationError
from servey_faas.faas.packager import BuildOptions, BuildResult, build
from servey_faas.faas.runtime import (
    function_app,
    load_action,
    load_app,
    read_secret,
    run,
    secret_path,
    self_test,
    upstream_address,
)
from servey_faas.settings import Settings

from .conftest import context_of

pytestmark = pytest.mark.anyio
SECRET = "k" * 32


async def client_for(app: ServeyApp, action_name: str, *, function_auth: bool = False) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=function_app(app, action_name, function_auth=function_auth))
    return httpx.AsyncClient(transport=transport, base_url="http://function")


@pytest.fixture
async def greet(test_app: ServeyApp) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(test_app, "greet") as client:
        yield client


async def test_root_post_get_and_rest_path(greet: httpx.AsyncClient) -> None:
    assert (await greet.post("/", json={"name": "Ada"})).json() == "Hello Ada!"
    assert (await greet.get("/", params={"name": "Ada", "punctuation": "?"})).json() == "Hello Ada?"
    response = await greet.get("/actions/greet", params={"name": "Bo"})
    assert (response.status_code, response.headers["content-type"], response.json()) == (
        200,
        "application/json",
        "Hello Bo!",
    )
    head = await greet.head("/", params={"name": "Ada"})
    assert (head.status_code, head.content) == (200, b"")


async def test_errors_are_the_dev_servers(greet: httpx.AsyncClient) -> None:
    missing = await greet.post("/", json={})
    assert missing.status_code == 422
    assert missing.json() == {
        "error": "validation_error",
        "message": "invalid params",
        "errors": [{"location": ["body", "name"], "message": "field required"}],
    }
    query = await greet.get("/", params={"nam": "x"})
    assert query.status_code == 422
    assert {"location": ["query", "nam"], "message": "unexpected field"} in query.json()["errors"]
    malformed = await greet.post("/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]) == (400, "bad_request")
    not_json = await greet.post("/", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["error"]) == (400, "bad_request")
    array = await greet.post("/", json=["x"])
    assert array.status_code == 400
    unknown = await greet.get("/elsewhere")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not_found", "message": "Not Found"})
    put = await greet.put("/", json={"name": "x"})
    assert (put.status_code, put.json()["error"]) == (405, "method_not_allowed")
    assert set(put.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


async def test_an_empty_post_is_an_empty_params_object(test_app: ServeyApp) -> None:
    """cron-connector and the queue-worker POST without a body or a content type (§4.3)."""
    async with await client_for(test_app, "tick") as client:
        response = await client.post("/", headers={"X-Topic": "cron-function", "X-Connector": "cron-connector"})
    assert (response.status_code, response.json()) == (200, 1)


async def test_a_failing_action_is_a_500_without_details(test_app: ServeyApp, caplog: pytest.LogCaptureFixture) -> None:
    async with await client_for(test_app, "explode") as client:
        response = await client.post("/", json={"reason": "secret detail"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
    assert "secret detail" in caplog.text  # the traceback goes to the function's log


async def test_path_params_and_nested_bodies(test_app: ServeyApp) -> None:
    async with await client_for(test_app, "move") as client:
        assert (await client.post("/points/3", json={"point": {"x": 1, "y": 2}})).json() == {"x": 4, "y": 2}
        assert (await client.post("/", json={"dx": 3, "point": {"x": 1, "y": 2}})).json() == {"x": 4, "y": 2}
        bad = await client.post("/points/x", json={"point": {"x": 1}})
    assert bad.status_code == 422
    locations = [e["location"] for e in bad.json()["errors"]]
    assert ["path", "dx"] in locations and ["body", "point", "y"] in locations


async def test_ready_path(greet: httpx.AsyncClient) -> None:
    response = await greet.get("/_/ready")
    assert (response.status_code, response.text) == (200, "OK")


def protected_app() -> ServeyApp:
    @action(triggers=(WebTrigger("GET"),), access_control=ScopeAccessControl("orders:read"))
    def whoami(auth: Authorization) -> str:
        return auth.subject_id or ""

    settings = Settings.load({"JWT_SECRET_KEY": SECRET}, Path("/nonexistent"))
    return ServeyApp.from_registry(ActionRegistry([whoami.__servey_action__]), settings)  # type: ignore[attr-defined]


def token(subject: str, scope: str = "orders:read") -> str:
    return jwt.encode({"sub": subject, "scope": scope, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")


async def test_end_user_tokens_are_verified_by_the_function(test_app: ServeyApp) -> None:
    app = protected_app()
    async with await client_for(app, "whoami") as client:
        assert (await client.get("/")).status_code == 401
        ok = await client.get("/", headers={"Authorization": f"Bearer {token('ann')}"})
        assert (ok.status_code, ok.json()) == (200, "ann")
        forged = jwt.encode({"sub": "eve", "scope": "orders:read", "exp": int(time.time()) + 60}, "x" * 32)
        assert (await client.get("/", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
        assert (await client.get("/", headers={"Authorization": f"Bearer {token('bo', 'other')}"})).status_code == 403
        # without jwt_auth the header is not read in place of Authorization
        assert (await client.get("/", headers={"X-Servey-Authorization": f"Bearer {token('ann')}"})).status_code == 401


async def test_with_function_auth_the_function_token_is_not_an_end_user_token() -> None:
    """jwt_auth=true: Authorization holds the OpenFaaS function token the watchdog checked (§7.4)."""
    app = protected_app()
    function_token = "eyJhbGciOiJFUzI1NiJ9.openfaas-function-token.sig"
    async with await client_for(app, "whoami", function_auth=True) as client:
        alone = await client.get("/", headers={"Authorization": f"Bearer {function_token}"})
        assert alone.status_code == 401  # no end-user token: the function token is not taken for one
        both = await client.get(
            "/",
            headers={"Authorization": f"Bearer {function_token}", "X-Servey-Authorization": f"Bearer {token('cy')}"},
        )
        assert (both.status_code, both.json()) == (200, "cy")
        forged = await client.get("/", headers={"X-Servey-Authorization": "Bearer not.a.jwt"})
        assert forged.status_code == 401


async def test_open_actions_work_behind_jwt_auth(test_app: ServeyApp) -> None:
    async with await client_for(test_app, "greet", function_auth=True) as client:
        response = await client.post("/", json={"name": "Ada"}, headers={"Authorization": "Bearer function-token"})
    assert (response.status_code, response.json()) == (200, "Hello Ada!")


def test_function_app_names_its_action(test_app: ServeyApp) -> None:
    with pytest.raises(ConfigurationError, match="exactly one action; this app has"):
        function_app(test_app)


def test_load_action_errors(test_app: ServeyApp) -> None:
    assert load_action("svf_packaging_test_actions", "greet").name == "greet"
    with pytest.raises(ConfigurationError, match="cannot import the action module 'no_such_module'"):
        load_action("no_such_module", "greet")
    with pytest.raises(ConfigurationError, match="svf_packaging_test_actions:Point is not an @action"):
        load_action("svf_packaging_test_actions", "Point")


def test_self_test_runs_the_examples(test_app: ServeyApp) -> None:
    out = io.StringIO()
    assert self_test(test_app, "greet", out) == 0
    assert out.getvalue() == "ok   greet::world\n1 of 1 examples passed\n"


def test_read_secret(tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text("  s3cr3t\n")
    env = {"secret_mount_path": str(tmp_path)}
    assert read_secret("api-key", environ=env) == "s3cr3t"
    assert secret_path("api-key", {}) == "/var/openfaas/secrets/api-key"
    with pytest.raises(ConfigurationError, match=r"secret 'other' is not mounted: no file .*other \(list it"):
        read_secret("other", environ=env)
    for bad in ("", "..", "a/b", "../api-key"):
        with pytest.raises(ConfigurationError, match="one non-empty path segment"):
            read_secret(bad, environ=env)
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        read_secret("binary", environ=env)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ("127.0.0.1", 5000)),
        ({"upstream_url": "http://127.0.0.1:5123"}, ("127.0.0.1", 5123)),
        ({"http_upstream_url": "http://localhost:6000/"}, ("localhost", 6000)),
    ],
)
def test_upstream_address(environ: dict[str, str], expected: tuple[str, int]) -> None:
    assert upstream_address(environ) == expected


@pytest.mark.parametrize("url", ["127.0.0.1:5000", "https://127.0.0.1:5000", "http://127.0.0.1", "http://h:99999"])
def test_bad_upstream_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="upstream_url must be http://HOST:PORT"):
        upstream_address({"upstream_url": url})


#: Modules an action's function must never import (DESIGN.md: cold start is what OpenFaaS users feel).
FORBIDDEN = ("strawberry", "celery", "servey_faas.web.graphql", "servey_faas.web.docs", "servey_faas.web.openapi",
             "servey_faas.scheduling", "servey_faas.testing", "servey_faas.cli")  # fmt: skip

#: Modules the function of a str-only action never imports when it starts from its schemas.json.
CODEC_MODULES = ("schemey", "marshy", "injecty")

#: An action function's start-up: load the app as index.py does (with the build context's
#: schemas.json), make its HTTP app, answer one call.
IMPORT_PATH = """
import json, sys
from servey_faas.faas.runtime import function_app, load_app
app = load_app(sys.argv[1], sys.argv[2], schemas_file=sys.argv[3])
function_app(app)
result = app.invoker(sys.argv[2]).invoke_sync(json.loads(sys.argv[4]))
import servey_faas
print(json.dumps({"modules": sorted(sys.modules), "servey_faas": servey_faas.__file__, "result": result}))
"""


@pytest.fixture(scope="module")
def demo_build(demo_app: ServeyApp, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The demo app's action functions (no router)."""
    return build(demo_app, BuildOptions(output_dir=tmp_path_factory.mktemp("demo") / "serverless", router=False))


@pytest.mark.parametrize(
    ("app", "module", "action_name", "params", "expected", "from_context"),
    [
        ("test", "svf_packaging_test_actions", "greet", {"name": "Ada"}, "Hello Ada!", False),
        ("test", "svf_packaging_test_actions", "greet", {"name": "Ada"}, "Hello Ada!", True),
        ("demo", "actions.greetings", "say_hello", {"name": "Bo"}, "Hello Bo!", True),
    ],
    ids=["greet-installed", "greet-build-context", "say-hello-build-context"],
)
def test_the_import_path_stays_small(
    request: pytest.FixtureRequest,
    app: str,
    module: str,
    action_name: str,
    params: dict[str, str],
    expected: str,
    from_context: bool,
) -> None:
    """In a fresh interpreter, starting an action's function (the action's module imported, the app
    loaded with its schemas.json, its HTTP app made, one call answered) loads no GraphQL, Celery,
    docs, OpenAPI, scheduling or CLI code, and for these str-only actions neither schemey, marshy
    nor injecty (validation is python-jsonschema's): with the installed servey_faas, and with the
    build context's own copy first on the path, as in the image."""
    built: BuildResult = request.getfixturevalue("test_build" if app == "test" else "demo_build")
    context = context_of(built, action_name)
    path = [str(context)] if from_context else []
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PATH, module, action_name, str(context / "schemas.json"), json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=context / "function",
        check=False,
        env={"PYTHONPATH": ":".join([*path, str(context / "function")])},
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    modules = found["modules"]
    assert found["result"] == expected
    assert "servey_faas.faas.runtime" in modules and "jsonschema" in modules and module in modules
    assert [m for m in modules if m.startswith(FORBIDDEN)] == []
    assert [m for m in modules if m.split(".")[0] in CODEC_MODULES] == []
    assert Path(found["servey_faas"]).is_relative_to(context) == from_context


# --- load_app and run with a schemas file ----------------------------------------------------------


def test_load_app_takes_the_schemas_from_the_file(test_build: BuildResult, test_app: ServeyApp) -> None:
    schemas_file = context_of(test_build, "move") / "schemas.json"
    app = load_app("svf_packaging_test_actions", "move", {}, schemas_file=schemas_file)
    computed = test_app.invoker("move")
    assert app.invoker("move").schema_document == computed.schema_document
    assert app.invoker("move").invoke_sync({"dx": 2, "point": {"x": 1, "y": 1}}) == {"x": 3, "y": 1}
    with pytest.raises(ValidationError) as error:
        app.invoker("move").invoke_sync({"dx": "x", "point": {"x": 1}})
    with pytest.raises(ValidationError) as expected:
        computed.invoke_sync({"dx": "x", "point": {"x": 1}})
    assert error.value.errors == expected.value.errors
    # and a file edited by hand is what the function validates with
    document = json.loads(schemas_file.read_text())
    document["params"]["properties"]["dx"]["maximum"] = 5
    edited = schemas_file.parent.parent / "move-edited-schemas.json"
    edited.write_text(json.dumps(document))
    try:
        strict = load_app("svf_packaging_test_actions", "move", {}, schemas_file=str(edited))
    finally:
        edited.unlink()
    with pytest.raises(ValidationError):
        strict.invoker("move").invoke_sync({"dx": 6, "point": {"x": 1, "y": 1}})


def bad_schemas_files(tmp_path: Path, good: dict[str, Any]) -> list[tuple[Path, str]]:
    """``(file, what the error says)`` for every way a schemas file can be wrong."""
    cases: list[tuple[Path, str]] = [(tmp_path / "missing.json", "cannot read the schemas file {path}: No such file")]
    contents = {
        "malformed.json": (b'{"action": ', "the schemas file {path} is not JSON"),
        "binary.json": (b"\xff\xfe\x00", "the schemas file {path} is not JSON"),
        "array.json": (b"[]", "the schemas file {path} is not an object with an action name"),
        "no-result.json": (
            json.dumps({"action": "greet", "params": good["params"]}).encode(),
            "the schemas file {path} is not an object with an action name",
        ),
        "other.json": (
            json.dumps({**good, "action": "move"}).encode(),
            "the schemas file {path} is for action 'move', not 'greet': rebuild the function",
        ),
        "stale.json": (
            json.dumps({**good, "params": {**good["params"], "required": []}}).encode(),
            "action 'greet': the precomputed schemas do not match the function (required params (none) in the "
            "schemas, (name) in the signature); they are stale",
        ),
    }
    for name, (data, says) in contents.items():
        (tmp_path / name).write_bytes(data)
        cases.append((tmp_path / name, says))
    cases.append((tmp_path, "cannot read the schemas file {path}: Is a directory"))
    return cases


def test_a_bad_schemas_file_is_a_configuration_error(
    test_build: BuildResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.loads((context_of(test_build, "greet") / "schemas.json").read_text())
    for path, says in bad_schemas_files(tmp_path, good):
        message = says.format(path=path)
        with pytest.raises(ConfigurationError) as error:
            load_app("svf_packaging_test_actions", "greet", {}, schemas_file=path)
        assert str(error.value).startswith(message), path
        # run() (index.py) prints it and fails, for serving and for the self-test alike
        for argv in ([], ["--self-test"]):
            assert run("svf_packaging_test_actions", "greet", argv, schemas_file=str(path)) == 1
            out, err = capsys.readouterr()
            assert (out, err.startswith(f"Error: {message}"), err.count("\n")) == ("", True, 1), err


def test_run_self_test_with_the_schemas_file(test_build: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    schemas_file = context_of(test_build, "greet") / "schemas.json"
    assert run("svf_packaging_test_actions", "greet", ["--self-test"], schemas_file=schemas_file) == 0
    assert capsys.readouterr().out == "ok   greet::world\n1 of 1 examples passed\n"
