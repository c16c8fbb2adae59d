"""The local gateway's REST API (gateway-spec.openapi.yml with the CE behaviour of
``docs/openfaas.md#gateway-rest-api`` and ``docs/openfaas.md#synchronous-invocation``) over real echo-function
processes, on real loopback HTTP."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from servey_faas.faas.gateway.protocol import split_target

from .conftest import USER, RunningGateway, pid_alive, serve_gateway, wait_until

MakeContext = Callable[[str], Path]


def test_split_target_at_the_last_dot() -> None:
    assert split_target("echo") == ("echo", "openfaas-fn", "/")
    assert split_target("echo/") == ("echo", "openfaas-fn", "/")
    assert split_target("a.b.c/x/y") == ("a.b", "c", "/x/y")


def test_health_info_namespaces_and_unknown_routes(running: RunningGateway) -> None:
    bare = httpx.Client(base_url=running.url)
    assert (bare.get("/healthz").status_code, bare.get("/healthz").text) == (200, "OK")
    info = running.http.get("/system/info").json()
    assert info["provider"]["provider"] == "servey-faas-local"
    assert set(info) == {"provider", "version", "arch"} and info["version"]["release"]
    assert running.http.get("/system/namespaces").json() == ["openfaas-fn"]
    namespace = running.http.get("/system/namespace/team-a")
    assert (namespace.status_code, namespace.text) == (501, "Feature not implemented in this version of OpenFaaS")
    assert running.http.delete("/system/namespace/team-a").status_code == 405
    # POST only (``docs/openfaas.md#enqueueing-an-async-call``)
    assert bare.get("/async-function/echo").status_code == 405
    assert bare.get("/nowhere").text == "404 page not found\n"
    assert running.http.get("/system/functions").json() == []


def test_basic_auth_guards_system_routes_only(running: RunningGateway, function_context: MakeContext) -> None:
    running.deploy("echo", function_context("echo"))
    bare = httpx.Client(base_url=running.url)
    for path in ("/system/functions", "/system/info", "/system/secrets", "/system/logs?name=echo"):
        denied = bare.get(path)
        assert denied.status_code == 401
        assert denied.text == "invalid credentials"
        assert denied.headers["www-authenticate"] == 'Basic realm="Restricted"'
    assert bare.get("/system/info", auth=(USER, "wrong")).status_code == 401
    assert bare.get("/system/info", headers={"Authorization": "Basic !!"}).status_code == 401
    # CE: no auth on invocation (``docs/openfaas.md#basic-auth-on-ce``)
    assert bare.get("/function/echo").status_code == 200


def test_deploy_lists_with_omitempty_and_created_at(running: RunningGateway, function_context: MakeContext) -> None:
    running.deploy("echo", function_context("echo"), envVars={"GREETING": "hi"}, labels={"team": "a"})
    [listed] = running.http.get("/system/functions").json()
    assert listed["name"] == "echo" and listed["namespace"] == "openfaas-fn"
    assert listed["envVars"] == {"GREETING": "hi"} and listed["labels"] == {"team": "a"}
    assert listed["replicas"] == 1 and listed["availableReplicas"] == 1
    assert listed["createdAt"].endswith("Z") and not listed["createdAt"].startswith("0001")
    for empty in ("secrets", "constraints", "annotations", "limits", "readOnlyRootFilesystem", "invocationCount"):
        assert empty not in listed
    running.echo("/function/echo")
    assert running.http.get("/system/functions").json()[0]["invocationCount"] == 1
    assert "invocationCount" not in running.status("echo")  # only on the list endpoint (``docs/openfaas.md#routes``)


def test_deploy_refusals(running: RunningGateway, function_context: MakeContext, tmp_path: Path) -> None:
    context = function_context("echo")
    running.deploy("echo", context)
    cases = [
        (running.deployment("echo", context), 400),  # exists
        ({"service": "other", "image": "registry.example/other:1"}, 400),  # not a build context
        ({"service": "other", "image": (tmp_path / "none").as_uri()}, 400),
        (running.deployment("Bad.Name", context), 400),
        (running.deployment("other", context, namespace="team-a"), 400),
        (running.deployment("other", context, secrets=["missing"]), 400),
    ]
    for body, status in cases:
        response = running.http.post("/system/functions", json=body)
        assert response.status_code == status, (body, response.text)
    assert running.http.post("/system/functions", content=b"{").status_code == 400
    assert running.http.put("/system/functions", json=running.deployment("ghost", context)).status_code == 404
    gone = running.http.request("DELETE", "/system/functions", json={"functionName": "ghost"})
    assert gone.status_code == 404
    assert running.http.get("/system/function/ghost").status_code == 404
    assert [f["name"] for f in running.http.get("/system/functions").json()] == ["echo"]


def test_invocation_forwards_path_query_body_and_call_headers(
    running: RunningGateway, function_context: MakeContext
) -> None:
    context = function_context("echo")
    running.deploy("echo", context, envVars={"GREETING": "hej"})
    response = httpx.post(f"{running.url}/function/echo.openfaas-fn/a/b?x=1&x=2", content=b"payload")
    assert response.status_code == 200 and response.headers["x-function"] == "echo"
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/a/b", "x=1&x=2", "payload")
    call_id = response.headers["x-call-id"]
    assert uuid.UUID(call_id).version == 4 and seen["headers"]["x-call-id"] == call_id
    assert seen["headers"]["x-start-time"] == response.headers["x-start-time"]
    assert int(response.headers["x-start-time"]) > 0
    assert float(response.headers["x-duration-seconds"]) >= 0
    assert response.headers["x-served-by"].startswith("openfaas-ce/")
    assert seen["headers"]["x-forwarded-for"].startswith("127.0.0.1:")
    assert seen["env"] == {"OPENFAAS_NAME": "echo", "OPENFAAS_NAMESPACE": "openfaas-fn", "GREETING": "hej",
                           "fprocess": "python index.py"}  # fmt: skip
    assert Path(seen["cwd"]) == context.resolve()
    mine = httpx.get(f"{running.url}/function/echo/", headers={"X-Call-Id": "mine"})
    # a caller's own call id is forwarded, not echoed (``docs/openfaas.md#call-ids``)
    assert mine.json()["headers"]["x-call-id"] == "mine" and "x-call-id" not in mine.headers
    assert mine.json()["path"] == "/"
    unknown = httpx.post(f"{running.url}/function/ghost")
    assert (unknown.status_code, unknown.text) == (404, "No endpoints available for: ghost.\n")
    assert unknown.headers["x-openfaas-internal"] == "proxy"
    assert httpx.request("TRACE", f"{running.url}/function/echo").status_code == 405


def test_scale_is_clamped_and_round_robin(running: RunningGateway, function_context: MakeContext) -> None:
    running.deploy("echo", function_context("echo"))
    bad = running.http.post("/system/scale-function/echo", json={"serviceName": "echo", "replicas": -1})
    assert (bad.status_code, bad.text) == (400, "Error unmarshalling request body")
    ghost = running.http.post("/system/scale-function/ghost", json={"serviceName": "ghost", "replicas": 2})
    assert ghost.status_code == 404
    scaled = running.http.post("/system/scale-function/echo", json={"serviceName": "echo", "replicas": 9})
    assert scaled.status_code == 202
    # CE clamps to [1, 5] (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``)
    assert running.status("echo")["replicas"] == 5
    running.http.post("/system/scale-function/echo", json={"serviceName": "echo", "replicas": 2})
    running.wait_available("echo", 2)
    pids = [running.echo("/function/echo")["pid"] for _ in range(4)]
    assert len(set(pids)) == 2 and pids[0] == pids[2] and pids[1] == pids[3]
    running.http.post("/system/scale-function/echo", json={"serviceName": "echo", "replicas": 0})
    assert running.status("echo")["replicas"] == 1
    wait_until(lambda: len(running.gateway.supervisor.pids()) == 1, "the extra replicas stopped")
    assert sum(pid_alive(p) for p in set(pids)) == 1


def test_secrets_are_files_of_mode_0600(running: RunningGateway, function_context: MakeContext) -> None:
    http = running.http
    assert http.post("/system/secrets", json={"name": "api-key", "value": "s3cr3t"}).status_code == 201
    assert http.post("/system/secrets", json={"name": "api-key", "value": "again"}).status_code == 409
    assert http.get("/system/secrets").json() == [{"name": "api-key", "namespace": "openfaas-fn"}]
    running.deploy("echo", function_context("echo"), secrets=["api-key"])
    assert running.echo("/function/echo")["secrets"] == {"api-key": {"value": "s3cr3t", "mode": "0o600"}}
    assert http.put("/system/secrets", json={"name": "api-key", "value": "rotated"}).status_code == 200
    assert running.echo("/function/echo")["secrets"]["api-key"]["value"] == "rotated"
    stored = running.gateway.state.root / "secrets" / "openfaas-fn" / "api-key"
    assert oct(os.stat(stored).st_mode & 0o777) == "0o600"
    assert http.put("/system/secrets", json={"name": "nope", "value": "x"}).status_code == 404
    assert http.request("DELETE", "/system/secrets", json={"name": "api-key"}).status_code == 204
    assert http.request("DELETE", "/system/secrets", json={"name": "api-key"}).status_code == 404
    assert http.get("/system/secrets").json() == []


def test_logs_tail_follow_and_errors(running: RunningGateway, function_context: MakeContext) -> None:
    running.deploy("echo", function_context("echo"))
    for i in range(3):
        running.echo(f"/function/echo/n{i}")
    # a replica's output reaches the log through a pipe, which may lag behind its answer
    wait_until(lambda: "handled POST /n2\n" in [e["text"] for e in running.logs("echo")], "the last call is logged")
    response = running.http.get("/system/logs", params={"name": "echo", "tail": "2"})
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [entry["text"] for entry in lines] == ["handled POST /n1\n", "handled POST /n2\n"]
    assert set(lines[0]) == {"name", "namespace", "instance", "timestamp", "text"}
    assert lines[0]["instance"].startswith("echo-") and lines[0]["namespace"] == "openfaas-fn"
    everything = running.http.get("/system/logs", params={"name": "echo", "tail": "-1"}).text.splitlines()
    assert json.loads(everything[0])["text"].startswith("starting on ")
    with running.http.stream("GET", "/system/logs", params={"name": "echo", "tail": "1", "follow": "true"}) as stream:
        lines_in = stream.iter_lines()
        assert json.loads(next(lines_in))["text"] == "handled POST /n2\n"
        running.echo("/function/echo/later")
        assert json.loads(next(lines_in))["text"] == "handled POST /later\n"
    assert running.http.get("/system/logs", params={"name": "ghost"}).status_code == 501
    bad = running.http.get("/system/logs", params={"name": "echo", "since": "2026-01-02T03:04:05"})
    assert (bad.status_code, bad.text) == (500, "unknown log request error (422)")


def test_update_restarts_and_delete_stops_the_process_group(
    running: RunningGateway, function_context: MakeContext
) -> None:
    context = function_context("echo")
    running.deploy("echo", context, envVars={"GREETING": "one", "SPAWN_CHILD": "1"})
    first = running.echo("/function/echo")
    assert first["child"] and pid_alive(first["child"])
    update = running.http.put("/system/functions",
                              json=running.deployment("echo", context, envVars={"GREETING": "two"}))  # fmt: skip
    assert update.status_code == 202
    second = wait_until(lambda: (seen := running.echo("/function/echo"))["env"]["GREETING"] == "two" and seen,
                        "the update is served")  # fmt: skip
    assert second["pid"] != first["pid"]
    wait_until(lambda: not pid_alive(first["pid"]) and not pid_alive(first["child"]), "the old replica is gone")
    running.http.request("DELETE", "/system/functions", json={"functionName": "echo"})
    assert not pid_alive(second["pid"])
    assert running.gateway.supervisor.pids() == []
    assert running.http.get("/system/functions").json() == []


def test_a_crashed_replica_is_started_again(running: RunningGateway, function_context: MakeContext) -> None:
    running.deploy("echo", function_context("echo"))
    before = running.echo("/function/echo")["pid"]
    assert httpx.post(f"{running.url}/function/echo/exit").status_code == 500  # the replica died mid-call
    after = wait_until(lambda: (r := httpx.post(f"{running.url}/function/echo")).status_code == 200 and r.json()["pid"],
                       "a new replica serves")  # fmt: skip
    assert after != before and not pid_alive(before)
    texts = running.http.get("/system/logs", params={"name": "echo"}).text
    assert "exited with status 3" in texts


def test_deployments_come_back_after_a_restart(state_dir: Path, function_context: MakeContext) -> None:
    context = function_context("echo")
    first = serve_gateway(state_dir)
    running = next(first)
    running.http.post("/system/secrets", json={"name": "api-key", "value": "v1"})
    running.deploy("echo", context, envVars={"GREETING": "kept"}, secrets=["api-key"])
    created = running.status("echo")["createdAt"]
    old_pid = running.echo("/function/echo")["pid"]
    next(first, None)  # stops the gateway and checks no process is left
    assert not pid_alive(old_pid)
    second = serve_gateway(state_dir)
    again = next(second)
    try:
        again.wait_available("echo")
        assert again.status("echo")["createdAt"] == created
        assert again.echo("/function/echo")["env"]["GREETING"] == "kept"
        assert again.http.get("/system/secrets").json() == [{"name": "api-key", "namespace": "openfaas-fn"}]
    finally:
        next(second, None)
    third = serve_gateway(state_dir)  # a secret deleted while the gateway was down is reported, not fatal
    (state_dir / "secrets" / "openfaas-fn" / "api-key").unlink()
    again = next(third)
    try:
        again.wait_available("echo")
        assert again.echo("/function/echo")["secrets"] == {}
        assert "secret api-key does not exist" in again.http.get("/system/logs", params={"name": "echo"}).text
    finally:
        next(third, None)


def test_an_update_is_rolling_no_call_fails_meanwhile(running: RunningGateway, function_context: MakeContext) -> None:
    """The old replica serves until a new one is ready: no 503 window during an update."""
    context = function_context("echo")
    running.deploy("echo", context, envVars={"GREETING": "one"})
    running.echo("/function/echo")
    update = running.http.put(
        "/system/functions", json=running.deployment("echo", context, envVars={"GREETING": "two"})
    )
    assert update.status_code == 202
    statuses: list[int] = []
    greetings: list[str] = []
    for _ in range(400):  # bounded: stop as soon as the new replica answers
        response = httpx.post(f"{running.url}/function/echo", timeout=30)
        statuses.append(response.status_code)
        if response.status_code == 200:
            greetings.append(response.json()["env"]["GREETING"])
            if greetings[-1] == "two":
                break
    assert set(statuses) == {200}, statuses
    assert greetings[-1] == "two" and greetings[0] == "one"
