"""The function entrypoint in-process: routes, errors, secrets, upstream address, import path."""

from __future__ import annotations

import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from servey_faas.app import ServeyApp
from servey_faas.errors import ConfigurationError, ValidationError
from servey_faas.faas.deploy.packager import BuildOptions, BuildResult, build
from servey_faas.faas.runtime import (
    load_action,
    load_app,
    read_secret,
    run,
    secret_path,
    self_test,
    upstream_address,
)

from ..conftest import context_of


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


#: Modules an action's function must never import (cold start is what OpenFaaS users feel:
#: ``docs/architecture.md#packages``).
FORBIDDEN = ("strawberry", "celery", "servey_faas.web.graphql", "servey_faas.web.docs", "servey_faas.web.openapi",
             "servey_faas.scheduling", "servey_faas.testing", "servey_faas.cli", "starlette", "uvicorn", "anyio",
             "asyncio", "servey_faas.web.app", "servey_faas.web.rest", "httpx")  # fmt: skip

#: Modules the function of a str-only action never imports when it starts from its schemas.json.
CODEC_MODULES = ("schemey", "marshy", "injecty")

#: An action function's start-up: load the app as index.py does (with the build context's
#: schemas.json), import its server, make its WSGI app and answer one POST / through it.
IMPORT_PATH = """
import io, json, sys
from wsgiref.util import setup_testing_defaults
from servey_faas.faas.runtime import function_app, load_app
from servey_faas.faas.runtime._server import serve_wsgi
app = load_app(sys.argv[1], sys.argv[2], schemas_file=sys.argv[3])
body = sys.argv[4].encode()
environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
           "wsgi.input": io.BytesIO(body)}
setup_testing_defaults(environ)
answer = b"".join(function_app(app)(environ, lambda status, headers: None))
import servey_faas
print(json.dumps({"modules": sorted(sys.modules), "servey_faas": servey_faas.__file__, "result": json.loads(answer)}))
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
    loaded with its schemas.json, its server imported, its WSGI app made, one call answered) loads
    no web framework, event loop, HTTP client, GraphQL, Celery, docs, OpenAPI, scheduling or CLI
    code, and for these str-only actions neither schemey, marshy nor injecty (validation is
    python-jsonschema's): with the installed servey_faas, and with the build context's own copy
    first on the path, as in the image."""
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
    assert {"servey_faas.faas.runtime", "waitress", "jsonschema", module} <= set(modules)
    # the test actions' module imports asyncio itself (for its async actions); the demo's does not
    forbidden = FORBIDDEN if app == "demo" else tuple(f for f in FORBIDDEN if f != "asyncio")
    assert [m for m in modules if m.startswith(forbidden)] == []
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


#: A function whose action never returns, served as index.py serves it (upstream on a free port).
NEVER_ENDING_FUNCTION = """
import time
from servey_faas import WEB_GET, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.faas.runtime._main import serve

@action(triggers=(WEB_GET,), timeout=1)
def forever() -> str:
    print("started forever", flush=True)
    while True:
        time.sleep(0.2)

serve(ServeyApp.from_registry(ActionRegistry([get_action(forever)])), "forever", {"upstream_url": "http://127.0.0.1:0"})
"""


def test_the_drain_on_sigterm_lasts_at_most_the_actions_timeout(tmp_path: Path) -> None:
    """The watchdog has answered 504 to every request in flight once exec_timeout (the action's
    timeout) has passed: past it the function stops waiting for them and exits."""
    script = tmp_path / "forever_function.py"
    script.write_text(NEVER_ENDING_FUNCTION, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not (served := re.search(r"serving on http://127\.0\.0\.1:(\d+)", "".join(lines))):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        with socket.create_connection(("127.0.0.1", int(served.group(1))), timeout=30) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: function\r\n\r\n")
            while "started forever" not in lines[-1]:
                lines.append(process.stdout.readline())
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            took = time.monotonic() - sent
            assert sock.recv(1) == b""  # closed without an answer: the watchdog has given its 504
        log = "".join(lines) + process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert "drain cut short by drain_timeout (1.0 s): closing 1 connection(s)" in log
    assert 0.9 <= took < 3.0, took
