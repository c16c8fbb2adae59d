"""``--run=deploy``, ``--run=invoke`` and ``--run=remove`` end to end: a real project packaged by
the packager, the spec-checking fake gateway on loopback (basic auth, credentials found where
``faas-cli login`` saves them), fake docker / faas-cli executables on PATH, a local Function
Builder, and the real function entrypoint app behind the gateway for invocations."""

from __future__ import annotations

import base64
import importlib
import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from servey_faas.cli import cli
from servey_faas.faas import FunctionDeployment
from servey_faas.faas.deploy.planner import APP_LABEL, owned
from servey_faas.testing import serve_app
from servey_faas.testing.fake_gateway import FakeGateway

from .conftest import MakeTool
from .test_builders import SECRET, FakeFunctionBuilder

USER, PASSWORD = "admin", "cli-s3cr3t"

ACTIONS = '''
    from servey_faas import WEB_GET, action


    @action(triggers=(WEB_GET,))
    def greet(name: str) -> str:
        """Greet someone."""
        return f"Hi {name}!"


    @action
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b
'''


@dataclass(frozen=True)
class Project:
    root: Path
    package: str
    gateway: FakeGateway
    url: str

    @property
    def serverless(self) -> Path:
        return self.root / "serverless"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A project folder (the current folder) with an actions package and ``[project] name =
    "shop"``, a fake gateway with basic auth, and faas-cli credentials for it in OPENFAAS_CONFIG."""
    root = tmp_path / "project"
    package = f"deploy_cli_actions_{uuid.uuid4().hex[:12]}"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text(textwrap.dedent(ACTIONS), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "shop"\n\n[tool.servey_faas]\nactions = "{package}"\n', encoding="utf-8"
    )
    for name in ("SERVEY_ACTION_PATH", "SERVEY_DEBUG", "OPENFAAS_URL", "CI", "FAAS_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    monkeypatch.chdir(root)
    importlib.invalidate_caches()
    gateway = FakeGateway(basic_auth=(USER, PASSWORD))
    with gateway.serve() as url:
        config = tmp_path / "openfaas"
        config.mkdir()
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (config / "config.yml").write_text(f"auths:\n- gateway: {url}\n  auth: basic\n  token: {token}\n")
        monkeypatch.setenv("OPENFAAS_CONFIG", str(config))
        yield Project(root, package, gateway, url)
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            del sys.modules[name]
    assert gateway.violations == []


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="servey-faas", env=env)


def writes(gateway: FakeGateway) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in gateway.requests if r.method != "GET"]


FUNCTIONS = ("add", "greet", "api")


# --- deploy --------------------------------------------------------------------------------------


def test_deploy_with_the_local_builder_then_nothing_changes(project: Project) -> None:
    result = run("--run=deploy", "--builder=local", "--gateway", project.url)
    assert result.exit_code == 0, result.output
    build = project.serverless / "build"
    lines = result.stdout.splitlines()
    assert lines[0] == f"{project.url}: 3 to create"
    assert lines[1:4] == [f"[{i}/7] build {n} → {(build / n).resolve().as_uri()} (local): built"
                          for i, n in enumerate(FUNCTIONS, 1)]  # fmt: skip
    assert lines[4:7] == [f"[{i}/7] create function {n}: created" for i, n in enumerate(FUNCTIONS, 4)]
    assert lines[7] == "[7/7] wait until add, greet, api report an available replica (up to 120 s): ready"
    assert lines[8] == "done: 3 created"
    for name in FUNCTIONS:
        deployed = project.gateway.function(name)
        assert deployed is not None and deployed.image == (build / name).resolve().as_uri()
        assert deployed.labels is not None and deployed.labels[APP_LABEL] == "shop"

    again = run("--run=deploy", "--builder=local", "--gateway", project.url)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"{project.url}: 3 unchanged"
    assert again.stdout.splitlines()[-1] == "done: 3 unchanged"


def test_dry_run_prints_the_plan_and_changes_nothing(project: Project) -> None:
    result = run("--run=deploy", "--builder=local", "--gateway", project.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"Plan for {project.url}: 3 to create"
    assert "  create function greet" in result.stdout.splitlines()
    assert writes(project.gateway) == []


def test_a_pushing_builder_without_registry_is_refused_before_anything(project: Project) -> None:
    result = run("--run=deploy", "--gateway", project.url)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the docker builder pushes images to a registry, but no registry is set. Give --registry "
        "(e.g. --registry ghcr.io/acme), or deploy to the local gateway with --builder=local\n"
    )
    assert not project.serverless.exists() and project.gateway.requests == []


def test_deploy_with_docker_builds_and_pushes_each_function(project: Project, fake_tool: MakeTool) -> None:
    docker = fake_tool("docker")
    result = run("--run=deploy", "--registry", "registry.example/acme", "--gateway", project.url, "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    images = {}
    for name in FUNCTIONS:
        deployed = project.gateway.function(name)
        assert deployed is not None and deployed.image.startswith(f"registry.example/acme/{name}:")
        images[name] = deployed.image
    build = Path("serverless", "build")  # the packager's default output folder, relative to the project
    assert docker.argvs() == [
        argv
        for name in FUNCTIONS
        for argv in (["build", "-t", images[name], str(build / name)], ["push", images[name]])
    ]


def test_deploy_with_faas_cli_filters_each_function(project: Project, fake_tool: MakeTool) -> None:
    faas_cli = fake_tool("faas-cli")
    result = run("--run=deploy", "--builder=faas-cli", "--registry", "registry.example/acme", "--gateway", project.url)
    assert result.exit_code == 0, result.output
    assert faas_cli.argvs() == [
        argv
        for name in FUNCTIONS
        for argv in (
            ["build", "-f", "serverless/stack.yml", "--filter", name],
            ["push", "-f", "serverless/stack.yml", "--filter", name],
        )
    ]
    assert {c["cwd"] for c in faas_cli.calls()} == {str(project.root)}  # as the stack file's header says


def test_a_failing_build_names_the_function_and_applies_nothing(project: Project, fake_tool: MakeTool) -> None:
    fake_tool("docker", exit_codes={"build -t registry.example/acme/greet:": 1})
    result = run("--run=deploy", "--registry", "registry.example/acme", "--gateway", project.url)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: build greet → registry.example/acme/greet:")
    assert "failed: `" in result.stderr and "exited with 1; its last lines:" in result.stderr
    assert result.stderr.endswith("\n  applied: none\n  not applied: add, greet, api\n")
    assert "Traceback" not in result.output
    assert writes(project.gateway) == []


def test_deploy_with_the_remote_builder(project: Project, tmp_path: Path) -> None:
    builder = FakeFunctionBuilder()
    secret_file = tmp_path / "payload-secret"
    secret_file.write_bytes(SECRET + b"\n")
    with serve_app(builder.app()) as builder_url:
        result = run(
            "--run=deploy", "--builder=remote", "--remote-builder", builder_url, "--payload-secret", str(secret_file),
            "--registry", "registry.example/acme", "--platform", "linux/amd64,linux/arm64", "--gateway", project.url,
            "--verbose",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["config"]["image"] for r in builder.received] == [  # type: ignore[index]
        project.gateway.function(name).image  # type: ignore[union-attr]
        for name in FUNCTIONS
    ]
    assert builder.received[0]["config"]["platforms"] == ["linux/amd64", "linux/arm64"]  # type: ignore[index]
    assert "    v: [3/3] RUN pip install" in result.stdout.splitlines()


def test_the_remote_builder_needs_its_url_and_secret(project: Project) -> None:
    result = run("--run=deploy", "--builder=remote", "--registry", "r.example/a", "--gateway", project.url)
    assert result.exit_code == 2
    assert "--builder=remote needs --remote-builder URL" in result.stderr


def test_the_gateway_comes_from_the_stack_file_then_openfaas_url(project: Project) -> None:
    with open(project.root / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[tool.servey_faas.build]\ngateway = "{project.url}"\n')
    result = run("--run=deploy", "--builder=local", "-q", env={"OPENFAAS_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 0, result.output
    assert project.gateway.function("greet") is not None
    # remove reads the same stack file; OPENFAAS_URL comes after it
    removed = run("--run=remove", env={"OPENFAAS_URL": "http://127.0.0.1:9"})
    assert removed.exit_code == 0, removed.output
    assert project.gateway.function("greet") is None


def test_an_unreachable_gateway_is_an_error(project: Project, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("--run=deploy", "--builder=local", "--gateway", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach the gateway at http://127.0.0.1:{port} to list the functions")


def test_a_401_is_an_error_that_says_how_to_log_in(project: Project, tmp_path: Path) -> None:
    empty = tmp_path / "no-credentials"
    empty.mkdir()
    result = run("--run=deploy", "--builder=local", "--gateway", project.url, env={"OPENFAAS_CONFIG": str(empty)})
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: the gateway at {project.url} answered 401 Unauthorized to list the functions: log in with "
        f"`servey-faas --run=login --gateway {project.url} --password-stdin` or "
        f"`faas-cli login --gateway {project.url}`"
    )


def test_prune_removes_what_the_app_no_longer_declares(project: Project) -> None:
    from servey_faas.faas import BasicAuth, GatewayClient

    with GatewayClient(project.url, BasicAuth(USER, PASSWORD), environ={}) as client:
        client.deploy_function(owned(FunctionDeployment("old-action", "r/x:1"), "shop"))
        client.deploy_function(owned(FunctionDeployment("theirs", "r/x:1"), "other"))
    kept = run("--run=deploy", "--builder=local", "--gateway", project.url, "-q")
    assert kept.exit_code == 0 and project.gateway.function("old-action") is not None
    result = run("--run=deploy", "--builder=local", "--gateway", project.url, "--prune")
    assert result.exit_code == 0, result.output
    assert "remove function old-action (no longer declared by app shop): removed" in result.stdout
    assert project.gateway.function("old-action") is None and project.gateway.function("theirs") is not None


def test_secrets_are_created_from_the_given_source(project: Project) -> None:
    with open(project.root / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write('\n[tool.servey_faas.build]\nsecrets = ["api-key"]\n')
    missing = run("--run=deploy", "--builder=local", "--gateway", project.url)
    assert missing.exit_code == 1
    assert f"Error: the functions need secrets the gateway at {project.url} lacks, and no value was given:\n" in (
        missing.stderr
    )
    assert "  api-key: give --secret api-key=env:VARIABLE or --secret api-key=file:PATH, or set " in missing.stderr
    assert "faas-cli secret create api-key --from-file FILE" in missing.stderr
    bad = run("--run=deploy", "--builder=local", "--gateway", project.url, "--secret", "api-key")
    assert bad.exit_code == 2 and "NAME=env:VARIABLE or NAME=file:PATH" in bad.stderr
    result = run(
        "--run=deploy", "--builder=local", "--gateway", project.url, "--secret", "api-key=env:MY_API_KEY",
        env={"MY_API_KEY": "k-987654"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[1/8] create secret api-key (value from env MY_API_KEY): created" in result.stdout
    assert "k-987654" not in result.output
    secret = project.gateway.secret_value("api-key")
    assert secret is not None and secret.value == "k-987654"
    deployed = project.gateway.function("greet")
    assert deployed is not None and deployed.secrets == ("api-key",)


# --- remove --------------------------------------------------------------------------------------


def test_remove_is_idempotent(project: Project) -> None:
    assert run("--run=deploy", "--builder=local", "--gateway", project.url, "-q").exit_code == 0
    result = run("--run=remove", "--gateway", project.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{project.url}: 3 to remove",
        "[1/3] remove function greet (declared by app shop): removed",
        "[2/3] remove function add (declared by app shop): removed",
        "[3/3] remove function api (declared by app shop): removed",
        "done: 3 removed",
    ]
    again = run("--run=remove", "--gateway", project.url)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        f"{project.url}: 3 left alone",
        "[1/3] function greet: not deployed, nothing to remove",
        "[2/3] function add: not deployed, nothing to remove",
        "[3/3] function api: not deployed, nothing to remove",
        "done: 3 skipped",
    ]


def test_remove_dry_run_changes_nothing(project: Project) -> None:
    assert run("--run=deploy", "--builder=local", "--gateway", project.url, "-q").exit_code == 0
    before = len(writes(project.gateway))
    result = run("--run=remove", "--gateway", project.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "  remove function greet (declared by app shop)"
    assert len(writes(project.gateway)) == before


# --- invoke --------------------------------------------------------------------------------------


@pytest.fixture
def deployed(project: Project) -> Project:
    """The project deployed, with the real function entrypoint app behind ``greet``."""
    from servey_faas.app import ServeyApp
    from servey_faas.faas.runtime import function_app
    from servey_faas.settings import Settings

    assert run("--run=deploy", "--builder=local", "--gateway", project.url, "-q").exit_code == 0
    app = ServeyApp.load(Settings(project_dir=project.root, action_path=project.package))
    project.gateway.attach("greet", function_app(app, "greet"), deploy=False)
    return project


def test_invoke_prints_the_json_result(deployed: Project) -> None:
    result = run("--run=invoke", "--action=greet", '--event={"name": "Ada"}', "--gateway", deployed.url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "Hi Ada!"
    call = [r for r in deployed.gateway.requests if r.path == "/function/greet.openfaas-fn"][-1]
    assert call.method == "POST" and json.loads(call.body) == {"name": "Ada"}
    assert "authorization" not in call.headers  # gateway credentials never go to functions


def test_invoke_reports_invalid_params_as_the_function_does(deployed: Project) -> None:
    result = run("--run=invoke", "--action=greet", '--event={"name": 3}', "--gateway", deployed.url)
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid params for action 'greet':\n  name: 3 is not of type 'string'\n"


def test_invoke_async_prints_the_call_id(deployed: Project) -> None:
    result = run(
        "--run=invoke", "--action=greet", '--event={"name": "Ada"}', "--async",
        "--callback-url", "http://127.0.0.1:9/done", "--gateway", deployed.url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    call_id = result.stdout.strip()
    assert str(uuid.UUID(call_id)) == call_id
    queued = [r for r in deployed.gateway.requests if r.path == "/async-function/greet.openfaas-fn"][-1]
    assert queued.headers["x-call-id"] == call_id
    assert queued.headers["x-callback-url"] == "http://127.0.0.1:9/done"
    assert deployed.gateway.wait_idle()


def test_invoke_errors(deployed: Project) -> None:
    unknown = run("--run=invoke", "--action=nope", "--gateway", deployed.url)
    assert unknown.exit_code == 2 and "Error:" in unknown.stderr
    usage = run("--run=invoke", "--action=greet", "--callback-url", "http://x/y", "--gateway", deployed.url)
    assert usage.exit_code == 2 and "--callback-url goes with --async" in usage.stderr
    not_served = run("--run=invoke", "--action=add", '--event={"a": 1, "b": 2}', "--gateway", deployed.url)
    assert not_served.exit_code == 1
    assert (
        not_served.stderr == "Error: function add.openfaas-fn answered 503 (proxy): No endpoints available for: add.\n"
    )
    deployed.gateway.async_enabled = False
    no_queue = run("--run=invoke", "--action=greet", "--async", "--gateway", deployed.url)
    assert no_queue.exit_code == 1
    assert f"Error: the gateway at {deployed.url} has no asynchronous invocation (it needs NATS" in no_queue.stderr


# --- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("deploy", ["--gateway URL", "--builder [docker|faas-cli|remote|local]", "--registry PREFIX", "--prune",
                    "--dry-run", "--secret NAME=SOURCE", "--remote-builder URL", "--payload-secret FILE",
                    "--wait-timeout SECONDS", "-q, --quiet", "OPENFAAS_URL", "SERVEY_FAAS_SECRET_<NAME>"]),
        ("invoke", ["--action NAME", "--event JSON", "--async", "--callback-url URL", "--gateway URL", "OPENFAAS_URL"]),
        ("remove", ["--gateway URL", "--prefix PREFIX", "--namespace NS", "--dry-run", "OPENFAAS_CONFIG"]),
    ],
)  # fmt: skip
def test_each_run_has_its_own_help(name: str, options: list[str]) -> None:
    result = run(f"--run={name}", "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: servey-faas --run={name} [OPTIONS]\n")
    for option in options:
        assert option in result.stdout
    assert "Environment:" in result.stdout
