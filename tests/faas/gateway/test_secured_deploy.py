"""A secured app (examples/secured: a ScopeAccessControl action, an action taking
``Authorization | None``, two open ones) packaged, planned, deployed and called over real
loopback HTTP through ``python -m servey_faas --run=gateway``, the functions running as processes:
the JWT key travels only as an OpenFaaS secret, and only to the functions that verify tokens."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
import yaml

from servey_faas.faas.gateway.processes import free_port

from .conftest import WAIT
from .test_cli import REPO, GatewayProcess, run_cli
from .test_cli import start_gateway as start_gateway  # the fixture, used by name

StartGateway = Callable[..., GatewayProcess]
KEY = "k" * 20 + "-secured-example-key"  # 40 bytes: HS256 needs 32 or more
SECRET_NAME = "jwt-secret-key"
READERS = {"api", "my-orders", "whoami"}  # the functions that verify bearer tokens


def token(subject: str, scope: str, key: str = KEY) -> str:
    return jwt.encode({"sub": subject, "scope": scope, "exp": int(time.time()) + 600}, key, algorithm="HS256")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of examples/secured (its actions module, its pyproject) as the current project."""
    root = tmp_path / "secured"
    root.mkdir()
    for name in ("actions.py", "pyproject.toml"):
        shutil.copy(REPO / "examples" / "secured" / name, root / name)
    return root


def no_jwt(**extra: str) -> dict[str, str]:
    """The environment of a command: no JWT setting at all (os.environ's are blanked), no saved credentials."""
    blank = {name: "" for name in os.environ if name.startswith("JWT_") or name == "SERVEY_TOKEN"}
    return {**blank, "OPENFAAS_CONFIG": "/nonexistent-openfaas-config", **extra}


def test_build_needs_no_key_and_the_stack_file_holds_none(project: Path) -> None:
    built = run_cli("--run=build", cwd=project, env=no_jwt())
    assert built.returncode == 0, built.stderr
    text = (project / "serverless" / "stack.yml").read_text(encoding="utf-8")
    functions = yaml.safe_load(text)["functions"]
    assert set(functions) == READERS | {"put-note", "say-hello"}
    for name, function in functions.items():
        if name in READERS:
            assert function["secrets"] == [SECRET_NAME]
            assert function["environment"]["JWT_SECRET_KEY_FILE"] == f"/var/openfaas/secrets/{SECRET_NAME}"
        else:  # least privilege: an HMAC key can sign tokens
            assert "secrets" not in function and "JWT_SECRET_KEY_FILE" not in function["environment"]
    assert "JWT_SECRET_KEY:" not in text and "JWT_PUBLIC_KEY:" not in text
    with_key = run_cli("--run=build", cwd=project, env=no_jwt(JWT_SECRET_KEY=KEY))
    assert with_key.returncode == 0, with_key.stderr
    assert (project / "serverless" / "stack.yml").read_text(encoding="utf-8") == text  # the key changes nothing
    assert KEY not in text


def test_every_command_but_the_servers_runs_without_a_key(project: Path) -> None:
    for args in (("--run=openapi",), ("--run=graphql-schema",), ("--run=action", "--action=whoami")):
        done = run_cli(*args, cwd=project, env=no_jwt())
        assert done.returncode == 0, (args, done.stderr)
    # in-process there is no token to verify: an action that takes a required Authorization cannot run
    needs = run_cli("--run=action", "--action=my_orders", cwd=project, env=no_jwt())
    assert needs.stderr == "Error: action 'my_orders' needs a bearer token\n"
    server = run_cli("--port", "0", cwd=project, env=no_jwt())
    assert server.returncode == 1
    assert "Error: action 'my_orders' needs bearer tokens, but no JWT key is configured" in server.stderr


def test_a_dry_run_plans_offline(project: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    done = run_cli("--run=deploy", "--dry-run", "--gateway", closed, cwd=project, env=no_jwt())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Plan for {closed}: 5 to create"
    assert f"  note: cannot reach the gateway at {closed} to list the functions" in done.stdout
    assert "planned against an empty gateway" in done.stdout
    assert "  note: the docker builder pushes images to a registry, but no registry is set" in done.stdout
    assert f"  {SECRET_NAME}: the JWT key the functions verify bearer tokens with: set JWT_SECRET_KEY" in done.stdout
    assert sum(line.startswith("  create function ") for line in lines) == 5
    with_key = run_cli("--run=deploy", "--dry-run", "--gateway", closed, cwd=project, env=no_jwt(JWT_SECRET_KEY=KEY))
    assert with_key.returncode == 0, with_key.stderr
    assert f"  create secret {SECRET_NAME} (value from env JWT_SECRET_KEY)" in with_key.stdout
    assert KEY not in with_key.stdout + with_key.stderr


def call(http: httpx.Client, method: str, path: str, bearer: str | None = None, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def test_deploy_writes_the_key_secret_and_every_path_verifies_tokens(
    project: Path, start_gateway: StartGateway
) -> None:
    gateway = start_gateway()
    deploy = ("--run=deploy", "--builder", "local", "--gateway", gateway.url, "-q")
    missing = run_cli(*deploy, cwd=project, env=no_jwt())
    assert missing.returncode == 1
    assert f"Error: the functions need secrets the gateway at {gateway.url} lacks" in missing.stderr
    assert f"faas-cli secret create {SECRET_NAME} --from-file jwt-secret.key" in missing.stderr
    done = run_cli(*deploy, cwd=project, env=no_jwt(JWT_SECRET_KEY=KEY))
    assert done.returncode == 0, done.stdout + done.stderr
    ann, bob = token("ann", "orders:read"), token("bob", "profile")
    forged = token("eve", "orders:read", key="f" * 40)
    with httpx.Client(base_url=gateway.url, timeout=WAIT) as http:
        assert http.get("/system/secrets").json() == [{"name": SECRET_NAME, "namespace": "openfaas-fn"}]
        for prefix in ("/function/my-orders", "/function/api/actions/my-orders"):
            assert call(http, "GET", prefix).status_code == 401
            assert call(http, "GET", prefix, forged).status_code == 401
            denied = call(http, "GET", prefix, bob)
            assert denied.status_code == 403, denied.text
            assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
            allowed = call(http, "GET", prefix, ann)
            assert (allowed.status_code, allowed.json()) == (200, ["ann-1", "ann-2"]), allowed.text
        for prefix in ("/function/whoami", "/function/api/actions/whoami"):
            assert call(http, "GET", prefix).json() == "Hello, anonymous!"
            assert call(http, "GET", prefix, bob).json() == "Hello, bob!"
            assert call(http, "GET", prefix, forged).status_code == 401
        # an open function holds no key and does not read Authorization; the router forwards the token anyway
        assert call(http, "GET", "/function/say-hello", ann, params={"name": "A"}).json() == "Hello A!"
        assert call(http, "GET", "/function/api/actions/say-hello", ann, params={"name": "A"}).json() == "Hello A!"
        graphql = call(http, "POST", "/function/api/graphql", ann, json={"query": "{ myOrders whoami }"})
        assert graphql.json() == {"data": {"myOrders": ["ann-1", "ann-2"], "whoami": "Hello, ann!"}}
        # the function answers its own method at / (PUT with a JSON body), and POST as every function does
        note = {"note_id": "n1", "text": "hi"}
        assert call(http, "PUT", "/function/put-note", json=note).json() == note
        assert call(http, "POST", "/function/put-note", json=note).json() == note
        assert call(http, "PUT", "/function/put-note/notes/n2", json={"text": "x"}).json() == {
            "note_id": "n2",
            "text": "x",
        }
        assert call(http, "DELETE", "/function/put-note").status_code == 405

    invoke = ("--run=invoke", "--action=my_orders", "--gateway", gateway.url)
    allowed = run_cli(*invoke, "--token", ann, cwd=project, env=no_jwt())
    assert (allowed.returncode, json.loads(allowed.stdout)) == (0, ["ann-1", "ann-2"]), allowed.stderr
    from_env = run_cli(*invoke, cwd=project, env=no_jwt(SERVEY_TOKEN=ann))
    assert json.loads(from_env.stdout) == ["ann-1", "ann-2"], from_env.stderr
    anonymous = run_cli(*invoke, cwd=project, env=no_jwt())
    assert anonymous.returncode == 1
    assert "Error: action 'my_orders' refused the call with 401: a bearer token is required" in anonymous.stderr
    assert "--token or SERVEY_TOKEN" in anonymous.stderr
    denied = run_cli(*invoke, "--token", bob, cwd=project, env=no_jwt())
    assert denied.returncode == 1 and "refused the call with 403" in denied.stderr

    rotated = "r" * 40
    plan = run_cli(*deploy, "--dry-run", cwd=project, env=no_jwt(JWT_SECRET_KEY=rotated))
    assert plan.returncode == 0, plan.stderr
    assert f"  update secret {SECRET_NAME} (value from env JWT_SECRET_KEY)" in plan.stdout
    assert "function my-orders unchanged" in plan.stdout  # the key is not in any spec
