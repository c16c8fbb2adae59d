"""The executor: PUT then POST on 404 (``docs/openfaas.md#what-faas-cli-deploy-sends``), a bounded wait for ready
replicas, removal, failures that say which functions were applied and which not, and the reporters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from servey_faas.errors import BuildError
from servey_faas.faas import BasicAuth, FunctionDeployment, GatewayClient, Secret
from servey_faas.faas.deploy.builders import DockerBuilder, LocalBuilder
from servey_faas.faas.deploy.executor import (
    DeployStepError,
    Executor,
    PlainReporter,
    QuietReporter,
    RichReporter,
    make_reporter,
)
from servey_faas.faas.deploy.planner import (
    APP_LABEL,
    CreateSecret,
    DeployFunction,
    Plan,
    RemoveFunction,
    WaitForReady,
    owned,
    plan_deploy,
    plan_remove,
)
from servey_faas.testing.fake_gateway import FakeGateway

from .conftest import MakeTool, Packager

APP = "shop"


def writes(gateway: FakeGateway, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in gateway.requests[since:] if r.method != "GET"]


class FakeClock:
    """A monotonic clock that only moves when the executor sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- deploy --------------------------------------------------------------------------------------


def test_create_is_put_then_post_on_404_and_update_is_put(
    client: GatewayClient, packager: Packager, gateway: FakeGateway, fake_tool: MakeTool
) -> None:
    docker = fake_tool("docker")
    plan = plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    before = len(gateway.requests)
    result = Executor(client, QuietReporter(), builder=DockerBuilder()).execute(plan)
    assert writes(gateway, before) == [("PUT", "/system/functions"), ("POST", "/system/functions")]
    assert [o.text for o in result.outcomes] == ["built", "created", "ready"]
    assert result.applied == ("say-hello",)
    assert [argv[0] for argv in docker.argvs()] == ["build", "push"]
    sent = json.loads([r for r in gateway.requests if r.method == "POST"][-1].body)
    assert sent["labels"][APP_LABEL] == APP and sent["image"].startswith("registry.example/acme/say-hello:")

    packager.env["say-hello"] = {"GREETING": "hi"}
    plan = plan_deploy(packager.build("say-hello"), client, DockerBuilder(), app_id=APP, environ={})
    before = len(gateway.requests)
    result = Executor(client, QuietReporter(), builder=DockerBuilder()).execute(plan)
    assert writes(gateway, before) == [("PUT", "/system/functions")]
    assert [o.text for o in result.outcomes] == ["built", "updated", "ready"]
    deployed = gateway.function("say-hello")
    assert deployed is not None and deployed.env_vars["GREETING"] == "hi"


def test_a_failed_build_applies_nothing_and_names_the_function(
    client: GatewayClient, packager: Packager, gateway: FakeGateway, fake_tool: MakeTool
) -> None:
    docker = fake_tool("docker", exit_codes={"build -t registry.example/acme/quote-order": 1})
    build = packager.build("say-hello", "quote-order", "to-fahrenheit")
    plan = plan_deploy(build, client, DockerBuilder(), app_id=APP, environ={})
    out = io.StringIO()
    before = len(gateway.requests)
    with pytest.raises(DeployStepError) as caught:
        Executor(client, PlainReporter(out), builder=DockerBuilder()).execute(plan)
    error = caught.value
    image = build.functions[1].deployment.image
    message = str(error)
    assert message.startswith(f"build quote-order → {image} (docker) failed: `")
    assert f"docker build -t {image} {build.functions[1].context}` exited with 1; its last lines:" in message
    assert message.endswith(
        f"boom: build -t {image} {build.functions[1].context}\n"
        "  applied: none\n"
        "  not applied: say-hello, quote-order, to-fahrenheit"
    )
    assert isinstance(error.__cause__, BuildError)
    assert error.applied == () and error.not_applied == ("say-hello", "quote-order", "to-fahrenheit")
    assert writes(gateway, before) == []  # the gateway is untouched
    assert [argv[:2] for argv in docker.argvs()] == [["build", "-t"], ["push", build.functions[0].deployment.image],
                                                     ["build", "-t"]]  # fmt: skip
    assert out.getvalue().splitlines()[-1] == f"[2/7] build quote-order → {image} (docker): FAILED"


def test_a_deploy_failing_midway_says_what_was_applied(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    Executor(client, QuietReporter(), builder=LocalBuilder()).execute(
        plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    )
    packager.env["say-hello"] = {"GREETING": "hi"}
    plan = plan_deploy(
        packager.build("say-hello", "quote-order", "to-fahrenheit"), client, LocalBuilder(), app_id=APP, environ={}
    )
    gateway.inject("POST", "/system/functions", 500, body=b"provider failed to create quote-order")
    with pytest.raises(DeployStepError) as caught:
        Executor(client, QuietReporter(), builder=LocalBuilder()).execute(plan)
    assert str(caught.value) == (
        f"create function quote-order failed: the gateway at {client.gateway_url} refused to deploy function "
        f"quote-order: POST {client.gateway_url}/system/functions answered 500: provider failed to create quote-order\n"
        "  applied: say-hello\n"
        "  not applied: quote-order, to-fahrenheit"
    )
    assert gateway.function("quote-order") is None and gateway.function("to-fahrenheit") is None


def test_a_401_while_deploying_is_clear_and_applies_nothing(
    client: GatewayClient, gateway_url: str, packager: Packager
) -> None:
    plan = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    with GatewayClient(gateway_url, BasicAuth("admin", "expired"), environ={}) as refused:
        with pytest.raises(DeployStepError) as caught:
            Executor(refused, QuietReporter(), builder=LocalBuilder()).execute(plan)
    message = str(caught.value)
    assert message.startswith(
        f"create function say-hello failed: the gateway at {gateway_url} answered 401 Unauthorized to deploy "
        f"function say-hello: log in with `servey-faas --run=login --gateway {gateway_url} --password-stdin`"
    )
    assert message.endswith("\n  applied: none\n  not applied: say-hello")


def test_ctrl_c_is_reported_with_what_was_applied(client: GatewayClient, packager: Packager) -> None:
    class Interrupted(LocalBuilder):
        def build(self, function: object, *, image: str, stack_file: Path, log: object) -> None:
            raise KeyboardInterrupt

    plan = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    with pytest.raises(DeployStepError) as caught:
        Executor(client, QuietReporter(), builder=Interrupted()).execute(plan)
    assert caught.value.exit_code == 130
    assert str(caught.value).startswith("build say-hello → file://")
    assert "failed: interrupted\n  applied: none\n  not applied: say-hello" in str(caught.value)


def test_a_secret_created_meanwhile_counts_as_existing(client: GatewayClient) -> None:
    client.create_secret(Secret("api-key", value="first"))
    plan = Plan(client.gateway_url, (CreateSecret(Secret("api-key", value="second"), "env X"),))
    result = Executor(client, QuietReporter()).execute(plan)
    assert [o.text for o in result.outcomes] == ["already exists"]


# --- waiting -------------------------------------------------------------------------------------


def not_ready(name: str) -> bytes:
    return json.dumps({"name": name, "image": "r/x:1", "replicas": 1, "createdAt": "0001-01-01T00:00:00Z"}).encode()


def test_wait_polls_until_an_available_replica(client: GatewayClient, gateway: FakeGateway) -> None:
    client.deploy_function(FunctionDeployment("say-hello", "r/x:1"))
    gateway.inject("GET", "/system/function/say-hello", 200, times=2, body=not_ready("say-hello"),
                   headers={"Content-Type": "application/json"})  # fmt: skip
    clock = FakeClock()
    lines: list[str] = []

    class Recorder(QuietReporter):
        def step_log(self, step: object, line: str) -> None:
            lines.append(line)

    plan = Plan(client.gateway_url, (WaitForReady((("say-hello", ""),), 30),))
    result = Executor(client, Recorder(), sleep=clock.sleep, clock=clock, poll_interval=2).execute(plan)
    assert [o.text for o in result.outcomes] == ["ready"]
    assert clock.sleeps == [2, 2]
    assert gateway.count("GET", "/system/function/say-hello") == 3
    assert lines == ["say-hello: 1 available replica(s)"]


def test_wait_is_bounded_and_says_which_functions_are_not_ready(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    plan = plan_deploy(packager.build("say-hello", "quote-order"), client, LocalBuilder(), app_id=APP,
                       wait_timeout=5, environ={})  # fmt: skip
    gateway.inject("GET", "/system/function/quote-order", 200, times=100, body=not_ready("quote-order"),
                   headers={"Content-Type": "application/json"})  # fmt: skip
    clock = FakeClock()
    executor = Executor(client, QuietReporter(), builder=LocalBuilder(), sleep=clock.sleep, clock=clock)
    with pytest.raises(DeployStepError) as caught:
        executor.execute(plan)
    assert str(caught.value) == (
        "wait until say-hello, quote-order report an available replica (up to 5 s) failed: no available replica "
        "after 5 s: quote-order (deployed, but not ready; see their logs with faas-cli logs NAME)\n"
        "  applied: say-hello, quote-order\n"
        "  not applied: none"
    )
    assert clock.now == 5 and clock.sleeps == [1, 1, 1, 1, 1]
    assert gateway.count("GET", "/system/function/say-hello") == 1  # ready ones are not asked again


def test_a_function_missing_right_after_deploy_is_waited_for(client: GatewayClient, gateway: FakeGateway) -> None:
    clock = FakeClock()

    def deploy_later(seconds: float) -> None:
        clock.sleep(seconds)
        if gateway.function("late") is None:
            client.deploy_function(FunctionDeployment("late", "r/x:1"))

    plan = Plan(client.gateway_url, (WaitForReady((("late", ""),), 10),))
    result = Executor(client, QuietReporter(), sleep=deploy_later, clock=clock).execute(plan)
    assert [o.text for o in result.outcomes] == ["ready"] and clock.sleeps == [1]


# --- remove --------------------------------------------------------------------------------------


def test_remove_deletes_the_apps_functions_and_is_idempotent(
    client: GatewayClient, packager: Packager, gateway: FakeGateway
) -> None:
    Executor(client, QuietReporter(), builder=LocalBuilder()).execute(
        plan_deploy(packager.build("say-hello", "old-one"), client, LocalBuilder(), app_id=APP, environ={})
    )
    client.deploy_function(owned(FunctionDeployment("theirs", "r/x:1"), "other"))
    client.deploy_function(owned(FunctionDeployment("quote-order", "r/x:1"), "other"))
    plan = plan_remove(["say-hello", "quote-order", "to-fahrenheit"], client, app_id=APP)
    out = io.StringIO()
    result = Executor(client, PlainReporter(out)).execute(plan)
    assert out.getvalue().splitlines() == [
        f"{client.gateway_url}: 2 to remove, 2 left alone",
        "[1/4] remove function say-hello (declared by app shop): removed",
        "[2/4] function quote-order: belongs to app 'other', left alone",
        "[3/4] function to-fahrenheit: not deployed, nothing to remove",
        "[4/4] remove function old-one (deployed by app shop, no longer declared): removed",
        "done: 2 removed, 2 skipped",
    ]
    assert result.removed == ("say-hello", "old-one")
    assert gateway.function("say-hello") is None and gateway.function("old-one") is None
    assert gateway.function("theirs") is not None and gateway.function("quote-order") is not None

    again = plan_remove(["say-hello", "to-fahrenheit"], client, app_id=APP)
    assert [s.message for s in again.steps] == [
        "function say-hello: not deployed, nothing to remove",
        "function to-fahrenheit: not deployed, nothing to remove",
    ]
    assert Executor(client, QuietReporter()).execute(again).removed == ()


def test_a_function_removed_meanwhile_is_already_gone(client: GatewayClient) -> None:
    plan = Plan(client.gateway_url, (RemoveFunction("ghost", "", "test"),))
    assert [o.text for o in Executor(client, QuietReporter()).execute(plan).outcomes] == ["already gone"]


def test_a_failed_removal_lists_what_was_and_was_not_removed(client: GatewayClient, gateway: FakeGateway) -> None:
    for name in ("a", "b", "c"):
        client.deploy_function(owned(FunctionDeployment(name, "r/x:1"), APP))
    plan = plan_remove(["a", "b", "c"], client, app_id=APP)
    gateway.inject("DELETE", "/system/functions", 200)
    gateway.inject("DELETE", "/system/functions", 500, body=b"stuck")
    with pytest.raises(DeployStepError) as caught:
        Executor(client, QuietReporter()).execute(plan)
    assert str(caught.value).endswith("\n  removed: a\n  not removed: b, c")
    assert caught.value.removed == ("a",) and caught.value.not_removed == ("b", "c")


# --- reporters -----------------------------------------------------------------------------------


def test_plain_reporter_prints_one_line_per_step(client: GatewayClient, packager: Packager) -> None:
    plan = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    out = io.StringIO()
    Executor(client, PlainReporter(out), builder=LocalBuilder()).execute(plan)
    uri = packager.build("say-hello").functions[0].context.resolve().as_uri()
    assert out.getvalue().splitlines() == [
        f"{client.gateway_url}: 1 to create",
        f"[1/3] build say-hello → {uri} (local): built",
        "[2/3] create function say-hello: created",
        "[3/3] wait until say-hello report an available replica (up to 120 s): ready",
        "done: 1 created",
    ]
    verbose = io.StringIO()
    packager.env["say-hello"] = {"X": "1"}
    plan = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    Executor(client, PlainReporter(verbose, verbose=True), builder=LocalBuilder()).execute(plan)
    assert f"    no image to build: the local gateway runs {uri}" in verbose.getvalue().splitlines()


def test_rich_reporter_marks_each_step(client: GatewayClient, packager: Packager) -> None:
    plan = plan_deploy(packager.build("say-hello"), client, LocalBuilder(), app_id=APP, environ={})
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    Executor(client, RichReporter(console), builder=LocalBuilder()).execute(plan)
    text = out.getvalue()
    assert "✓ [2/3] create function say-hello: created" in text
    assert "done: 1 created" in text


def test_rich_reporter_marks_a_failed_step(client: GatewayClient) -> None:
    plan = Plan(client.gateway_url, (DeployFunction(FunctionDeployment("bad.name", "r/x:1"), "create"),))
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    with pytest.raises(DeployStepError):
        Executor(client, RichReporter(console)).execute(plan)
    assert "✗ [1/1] create function bad.name" in out.getvalue()


def test_make_reporter_picks_by_terminal_and_quiet() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_reporter(io.StringIO()), PlainReporter)
    assert isinstance(make_reporter(Tty()), RichReporter)
    assert isinstance(make_reporter(Tty(), quiet=True), QuietReporter)
