"""The planner against the spec-checking fake gateway: create, update, unchanged, prune, secrets,
ownership, registry and gateway errors, dry-run output; gateway URL precedence and app ids."""

from __future__ import annotations

import io
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from servey_faas.errors import ConfigurationError, DeployError
from servey_faas.faas import BasicAuth, FunctionDeployment, GatewayClient, Secret
from servey_faas.faas.deploy.builders import DockerBuilder, LocalBuilder
from servey_faas.faas.deploy.executor import Executor, PlanPrinter, QuietReporter
from servey_faas.faas.deploy.planner import (
    APP_LABEL,
    SPEC_ANNOTATION,
    BuildImage,
    CreateSecret,
    DeployFunction,
    KeepFunction,
    RemoveFunction,
    SecretSource,
    WaitForReady,
    check_app_id,
    default_app_id,
    differences,
    owned,
    parse_secret_option,
    plan_deploy,
    resolve_gateway_url,
    secret_env_var,
    spec_hash,
)
from servey_faas.testing.fake_gateway import FakeGateway

from .conftest import Packager

APP = "shop"


def apply(client: GatewayClient, packager: Packager, *names: str, prune: bool = False) -> None:
    plan = plan_deploy(packager.build(*names), client, DockerBuilder(), app_id=APP, prune=prune, environ={})
    Executor(client, QuietReporter(), builder=KeepImageBuilder()).execute(plan)


class KeepImageBuilder:
    """A builder that builds nothing but keeps the packaged image (registry + content hash)."""

    name = "fake"
    pushes = True

    def image_for(self, function: object) -> str:
        return function.deployment.image  # type: ignore[attr-defined, no-any-return]

    def build(self, function: object, *, image: str, stack_file: Path, log: object) -> None:
        pass


def kinds(steps: tuple[object, ...]) -> list[tuple[str, str]]:
    return [(type(s).__name__, s.target) for s in steps]  # type: ignore[attr-defined]


# --- create / unchanged / update / prune ---------------------------------------------------------


def test_an_empty_gateway_gets_builds_then_creates_then_a_wait(client: GatewayClient, packager: Packager) -> None:
    build = packager.build("say-hello", "quote-order")
    plan = plan_deploy(build, client, DockerBuilder(), app_id=APP, environ={})
    assert kinds(plan.steps) == [
        ("BuildImage", "say-hello"),
        ("BuildImage", "quote-order"),
        ("DeployFunction", "say-hello"),
        ("DeployFunction", "quote-order"),
        ("WaitForReady", "say-hello, quote-order"),
    ]
    create = plan.steps[2]
    assert isinstance(create, DeployFunction) and create.change == "create"
    sent = create.deployment
    assert sent.image == build.functions[0].deployment.image
    assert sent.labels == {"com.openfaas.scale.min": "1", APP_LABEL: APP}
    assert sent.annotations == {SPEC_ANNOTATION: spec_hash(sent)}
    assert plan.summary == "2 to create"


def test_deployed_functions_are_unchanged_on_the_next_plan(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    apply(client, packager, "say-hello", "quote-order")
    deployed = gateway.function("say-hello")
    assert deployed is not None and deployed.labels is not None and deployed.labels[APP_LABEL] == APP
    plan = plan_deploy(packager.build("say-hello", "quote-order"), client, DockerBuilder(), app_id=APP, environ={})
    assert kinds(plan.steps) == [("KeepFunction", "say-hello"), ("KeepFunction", "quote-order")]
    assert plan.summary == "2 unchanged"
    assert plan.steps[0].message == f"function say-hello unchanged ({deployed.image})"


def test_a_changed_function_is_rebuilt_and_updated_alone(client: GatewayClient, packager: Packager) -> None:
    apply(client, packager, "say-hello", "quote-order")
    packager.env["quote-order"] = {"GREETING": "hi"}
    plan = plan_deploy(packager.build("say-hello", "quote-order"), client, DockerBuilder(), app_id=APP, environ={})
    assert kinds(plan.steps) == [
        ("BuildImage", "quote-order"),
        ("KeepFunction", "say-hello"),
        ("DeployFunction", "quote-order"),
        ("WaitForReady", "quote-order"),
    ]
    update = plan.steps[2]
    assert isinstance(update, DeployFunction)
    assert update.change == "update" and update.reasons == ("envVars changed",)
    assert update.message == "update function quote-order (envVars changed)"


def test_builds_come_before_every_deploy_and_keep(client: GatewayClient, packager: Packager) -> None:
    apply(client, packager, "say-hello")
    plan = plan_deploy(packager.build("say-hello", "new-one"), client, DockerBuilder(), app_id=APP, environ={})
    assert kinds(plan.steps) == [
        ("BuildImage", "new-one"),
        ("KeepFunction", "say-hello"),
        ("DeployFunction", "new-one"),
        ("WaitForReady", "new-one"),
    ]


def test_a_function_deployed_by_another_tool_is_updated_and_says_so(client: GatewayClient, packager: Packager) -> None:
    build = packager.build("say-hello")
    client.deploy_function(build.functions[0].deployment)  # as faas-cli deploy would: no spec annotation
    plan = plan_deploy(build, client, DockerBuilder(), app_id=APP, environ={})
    update = plan.steps[1]
    assert isinstance(update, DeployFunction) and update.change == "update"
    assert update.reasons == ("not deployed by servey_faas", "labels differ")


def test_prune_removes_only_this_apps_functions_that_are_no_longer_declared(
    client: GatewayClient, packager: Packager
) -> None:
    apply(client, packager, "say-hello", "old-one")
    client.deploy_function(FunctionDeployment("someone-else", "r/x:1"))
    client.deploy_function(FunctionDeployment("other-app", "r/x:1", labels={APP_LABEL: "other"}))
    without = plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    assert kinds(without.steps) == [("KeepFunction", "say-hello")]
    plan = plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, prune=True, environ={})
    assert kinds(plan.steps) == [("KeepFunction", "say-hello"), ("RemoveFunction", "old-one")]
    assert plan.steps[1].message == "remove function old-one (no longer declared by app shop)"
    assert plan.summary == "1 unchanged, 1 to remove"


def test_another_apps_function_of_the_same_name_is_not_replaced(client: GatewayClient, packager: Packager) -> None:
    client.deploy_function(FunctionDeployment("say-hello", "r/x:1", labels={APP_LABEL: "other"}))
    with pytest.raises(ConfigurationError, match="function say-hello on the gateway belongs to app 'other'"):
        plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})


def test_no_wait_step_with_a_zero_timeout(client: GatewayClient, packager: Packager) -> None:
    plan = plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, wait_timeout=0, environ={})
    assert not any(isinstance(s, WaitForReady) for s in plan.steps)


def test_functions_in_a_namespace_are_listed_there(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    gateway.namespaces.append("staging")
    apply_plan = plan_deploy(
        packager.build("say-hello", namespace="staging"), client, DockerBuilder(), app_id=APP, environ={}
    )
    assert apply_plan.steps[1].message == "create function say-hello in staging"
    Executor(client, QuietReporter(), builder=KeepImageBuilder()).execute(apply_plan)
    assert gateway.function("say-hello", "staging") is not None
    again = plan_deploy(
        packager.build("say-hello", namespace="staging"), client, DockerBuilder(), app_id=APP, environ={}
    )
    assert kinds(again.steps) == [("KeepFunction", "say-hello")]
    assert ("GET", "/system/functions", (("namespace", "staging"),)) in [
        (r.method, r.path, r.query) for r in gateway.requests
    ]


# --- the local builder ---------------------------------------------------------------------------


def test_local_builder_deploys_the_build_context_uri(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    packager.registry = None  # the local builder needs none
    build = packager.build("say-hello")
    plan = plan_deploy(build, client, LocalBuilder(), app_id=APP, environ={})
    assert plan.steps[0].message == f"build say-hello → {build.functions[0].context.resolve().as_uri()} (local)"
    Executor(client, QuietReporter(), builder=LocalBuilder()).execute(plan)
    deployed = gateway.function("say-hello")
    assert deployed is not None and deployed.image == build.functions[0].context.resolve().as_uri()
    again = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    assert kinds(again.steps) == [("KeepFunction", "say-hello")]


# --- registry ------------------------------------------------------------------------------------


def test_a_pushing_builder_needs_a_registry(client: GatewayClient, packager: Packager, gateway: FakeGateway) -> None:
    packager.registry = None
    build = packager.build("say-hello")
    with pytest.raises(ConfigurationError) as caught:
        plan_deploy(build, client, DockerBuilder(), app_id=APP, environ={})
    image = build.functions[0].deployment.image
    assert str(caught.value) == (
        f"the docker builder pushes images to a registry, but no registry is set, so these images name none: "
        f"say-hello ({image}). Give --registry (e.g. --registry ghcr.io/acme), or deploy to the local gateway "
        "with --builder=local"
    )
    assert gateway.requests == []  # refused before asking the gateway anything


# --- secrets -------------------------------------------------------------------------------------


def test_a_missing_secret_without_a_value_is_a_configuration_error(client: GatewayClient, packager: Packager) -> None:
    packager.secrets["say-hello"] = ("api-key", "db-password")
    with pytest.raises(ConfigurationError) as caught:
        plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    lines = str(caught.value).splitlines()
    assert lines[0] == f"the functions need secrets the gateway at {client.gateway_url} lacks, and no value was given:"
    assert [line.split(":")[0] for line in lines[1:]] == ["  api-key", "  db-password"]
    assert "--secret db-password=env:VARIABLE" in lines[2] and "SERVEY_FAAS_SECRET_DB_PASSWORD" in lines[2]


def test_missing_secrets_are_created_first_from_env_or_file_without_showing_values(
    client: GatewayClient, packager: Packager, gateway: FakeGateway, tmp_path: Path
) -> None:
    packager.secrets["say-hello"] = ("api-key", "db-password", "existing")
    client.create_secret(Secret("existing", value="old"))
    password_file = tmp_path / "db.txt"
    password_file.write_bytes(b"hunter2\n")
    environ = {"SERVEY_FAAS_SECRET_API_KEY": "k-123456"}
    plan = plan_deploy(
        packager.build("say-hello"),
        client,
        DockerBuilder(),
        app_id=APP,
        secret_sources={"db-password": SecretSource("file", str(password_file))},
        environ=environ,
    )
    assert kinds(plan.steps)[:2] == [("CreateSecret", "api-key"), ("CreateSecret", "db-password")]
    messages = [s.message for s in plan.steps[:2]]
    assert messages == [
        "create secret api-key (value from env SERVEY_FAAS_SECRET_API_KEY)",
        f"create secret db-password (value from file {password_file})",
    ]
    text = io.StringIO()
    PlanPrinter(text).execute(plan)
    assert "k-123456" not in text.getvalue() + repr(plan) and "hunter2" not in text.getvalue() + repr(plan)
    Executor(client, QuietReporter(), builder=KeepImageBuilder()).execute(plan)
    api_key = gateway.secret_value("api-key")
    password = gateway.secret_value("db-password")
    assert api_key is not None and api_key.value == "k-123456"
    assert password is not None and password.value == "hunter2\n"
    existing = gateway.secret_value("existing")
    assert existing is not None and existing.value == "old"  # never overwritten


def test_secret_sources_parse_and_fail_clearly(tmp_path: Path) -> None:
    assert parse_secret_option("api-key=env:API_KEY") == ("api-key", SecretSource("env", "API_KEY"))
    assert parse_secret_option("k=file:/run/k=1") == ("k", SecretSource("file", "/run/k=1"))
    for bad in ("api-key", "=env:X", "k=API_KEY", "k=vault:x", "k=env:"):
        with pytest.raises(ConfigurationError):
            parse_secret_option(bad)
    with pytest.raises(ConfigurationError, match="environment variable NOPE is not set or empty"):
        SecretSource("env", "NOPE").read("k", "", {})
    with pytest.raises(ConfigurationError, match="cannot read"):
        SecretSource("file", str(tmp_path / "missing")).read("k", "", {})
    binary = tmp_path / "key.bin"
    binary.write_bytes(b"\xff\x00\x01")
    assert SecretSource("file", str(binary)).read("k", "ns", {}) == Secret("k", "ns", raw_value=b"\xff\x00\x01")
    assert secret_env_var("db.pass-word") == "SERVEY_FAAS_SECRET_DB_PASS_WORD"


# --- gateway errors ------------------------------------------------------------------------------


def test_an_unreachable_gateway_is_a_clear_deploy_error(packager: Packager) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with GatewayClient(f"http://127.0.0.1:{port}", None, retry=0, environ={}) as client:
        with pytest.raises(DeployError) as caught:
            plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    message = str(caught.value)
    assert message.startswith(f"cannot reach the gateway at http://127.0.0.1:{port} to list the functions: ")
    assert message.endswith("(is it running? give --gateway or set OPENFAAS_URL)")


def test_a_401_from_the_gateway_is_a_clear_deploy_error(gateway_url: str, packager: Packager) -> None:
    with GatewayClient(gateway_url, BasicAuth("admin", "wrong"), environ={}) as client:
        with pytest.raises(DeployError) as caught:
            plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    assert str(caught.value) == (
        f"the gateway at {gateway_url} answered 401 Unauthorized to list the functions: log in with "
        f"`servey-faas --run=login --gateway {gateway_url} --password-stdin` or `faas-cli login --gateway "
        f"{gateway_url}` (both save the credentials where servey_faas reads them; OPENFAAS_CONFIG names another "
        "config folder)"
    )


def test_a_gateway_failure_is_a_deploy_error(client: GatewayClient, packager: Packager, gateway: FakeGateway) -> None:
    gateway.inject("GET", "/system/functions", 500, body=b"provider down", times=5)
    with GatewayClient(client.gateway_url, client.auth, retry=0, environ={}) as no_retry:
        with pytest.raises(DeployError, match=r"refused to list the functions: GET .* answered 500: provider down"):
            plan_deploy(packager.build("say-hello"), no_retry, DockerBuilder(), app_id=APP, environ={})


# --- dry run ---------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    apply(client, packager, "say-hello", "old-one", "quote-order")
    packager.env["quote-order"] = {"GREETING": "hi"}
    packager.secrets["new-one"] = ("api-key",)
    build = packager.build("say-hello", "quote-order", "new-one")
    before = len(gateway.requests)
    plan = plan_deploy(
        build, client, DockerBuilder(), app_id=APP, prune=True, environ={"SERVEY_FAAS_SECRET_API_KEY": "v"}
    )
    out = io.StringIO()
    result = PlanPrinter(out).execute(plan)
    images = {f.name: f.deployment.image for f in build.functions}
    assert out.getvalue() == (
        f"Plan for {client.gateway_url}: 1 to create, 1 to update, 1 unchanged, 1 to remove, 1 secret to create\n"
        "  create secret api-key (value from env SERVEY_FAAS_SECRET_API_KEY)\n"
        f"  build quote-order → {images['quote-order']} (docker)\n"
        f"  build new-one → {images['new-one']} (docker)\n"
        f"  function say-hello unchanged ({images['say-hello']})\n"
        "  update function quote-order (envVars changed)\n"
        "  create function new-one\n"
        "  wait until quote-order, new-one report an available replica (up to 120 s)\n"
        "  remove function old-one (no longer declared by app shop)\n"
    )
    assert result.outcomes == ()
    assert {r.method for r in gateway.requests[before:]} == {"GET"}
    assert gateway.function("old-one") is not None and gateway.secret_value("api-key") is None


# --- pure helpers --------------------------------------------------------------------------------


def test_spec_hash_ignores_its_own_annotation_and_owned_is_idempotent() -> None:
    spec = FunctionDeployment("f", "r/f:1", labels={"a": "1"})
    first = owned(spec, APP)
    assert owned(first, APP) == first
    assert spec_hash(first) == spec_hash(replace(first, annotations={}))
    assert spec_hash(replace(first, env_vars={"x": "1"})) != spec_hash(first)


def test_differences_ignore_what_providers_add() -> None:
    from servey_faas.faas import FunctionStatus

    desired = owned(FunctionDeployment("f", "r/f:1", env_vars={"a": "1"}, labels={"l": "1"}), APP)
    status = FunctionStatus(
        "f",
        "r/f:1",
        namespace="openfaas-fn",
        env_vars={"a": "1"},
        labels={"l": "1", APP_LABEL: APP, "faas_function": "f"},
        annotations={"prometheus.io.scrape": "false"},
    )
    assert differences(desired, status) == ()
    assert differences(replace(desired, image="r/f:2", secrets=("s",)), status) == ("image", "secrets")


def test_app_ids() -> None:
    assert check_app_id("shop.v2_x-1") == "shop.v2_x-1"
    for bad in ("", "-shop", "shop/x", "x" * 64):
        with pytest.raises(ConfigurationError):
            check_app_id(bad)


def test_default_app_id_from_pyproject_or_folder(tmp_path: Path) -> None:
    project = tmp_path / "My Shop"
    project.mkdir()
    assert default_app_id(project) == "my-shop"
    assert default_app_id(project, "staging-") == "staging-my-shop"
    (project / "pyproject.toml").write_text('[project]\nname = "Acme_Orders"\n', encoding="utf-8")
    assert default_app_id(project) == "acme_orders"
    (project / "pyproject.toml").write_text('[project]\nname = "' + "x" * 80 + '-"\n', encoding="utf-8")
    assert default_app_id(project) == "x" * 63


def test_gateway_url_precedence_follows_faas_cli(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    env = {"OPENFAAS_URL": "http://from-env:8080"}
    assert resolve_gateway_url(None, stack, {}) == "http://127.0.0.1:8080"
    assert resolve_gateway_url(None, stack, env) == "http://from-env:8080"
    stack.write_text("version: 1.0\nprovider:\n  name: openfaas\n  gateway: HTTP://From-Stack:8080/\n")
    assert resolve_gateway_url(None, stack, env) == "http://from-stack:8080"
    assert resolve_gateway_url("gw.example:31112", stack, env) == "http://gw.example:31112"
    stack.write_text("provider:\n  name: openfaas\n  gateway: ${GW:-http://fallback:8080}\n")
    assert resolve_gateway_url(None, stack, {}) == "http://fallback:8080"
    assert resolve_gateway_url(None, stack, {"GW": "http://gw:1"}) == "http://gw:1"
    stack.write_text("provider:\n  name: openfaas\n  gateway: ${GW}\n")
    assert resolve_gateway_url(None, stack, env) == "http://from-env:8080"  # empty after substitution
    stack.write_text("provider: [\n")
    with pytest.raises(ConfigurationError, match="cannot read the stack file"):
        resolve_gateway_url(None, stack, env)


def test_step_messages() -> None:
    fn_secret = CreateSecret(Secret("k", "ns", value="v"), "env K")
    assert fn_secret.message == "create secret k in ns (value from env K)"
    assert "v'" not in repr(fn_secret)
    assert RemoveFunction("f", "", "why").message == "remove function f (why)"
    assert KeepFunction("f", "", "img").message == "function f unchanged (img)"
    assert BuildImage.__name__ == "BuildImage"
