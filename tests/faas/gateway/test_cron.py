"""The local gateway's cron-connector (``docs/openfaas.md#cron-connector``): functions annotated ``topic:
cron-function`` fire on their ``schedule`` with an empty POST and the connector's headers, through
the gateway's own invocation path, and follow deploys, updates and removals."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.gateway.cron import CRON_TOPIC, cron_expression

from .conftest import RunningGateway, wait_until

TARGET = "tick.openfaas-fn"


@pytest.fixture
def recorder_context(tmp_path: Path) -> Path:
    """A build context holding ``recorder_function.py`` as ``index.py``."""
    context = tmp_path / "build" / "recorder"
    context.mkdir(parents=True)
    source = Path(__file__).with_name("recorder_function.py").read_text(encoding="utf-8")
    (context / "index.py").write_text(source, encoding="utf-8")
    return context


def cron(schedule: str, record: Path, **env: str) -> dict[str, Any]:
    return {"annotations": {"topic": CRON_TOPIC, "schedule": schedule}, "envVars": {"RECORD_FILE": str(record), **env}}


def events(record: Path, kind: str = "start") -> list[dict[str, Any]]:
    if not record.exists():
        return []
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line["event"] == kind]


def answers(caplog: pytest.LogCaptureFixture, target: str = TARGET) -> int:
    """How many cron answers from ``target`` the gateway logged."""
    return sum(1 for r in caplog.records if r.getMessage().startswith(f"cron-connector: {target} ["))


def test_fires_on_schedule_with_an_empty_post_and_the_connector_headers(
    running: RunningGateway, recorder_context: Path, tmp_path: Path
) -> None:
    record = tmp_path / "tick.jsonl"
    running.deploy("tick", recorder_context, **cron("@every 1s", record))
    assert running.gateway.cron.scheduled() == {TARGET: "@every 1s"}
    calls = wait_until(lambda: (found := events(record)) and len(found) >= 3 and found, "tick fired 3 times")
    for call in calls:
        assert (call["method"], call["path"], call["body"]) == ("POST", "/", "")
        headers = call["headers"]
        assert headers["x-topic"] == "cron-function" and headers["x-connector"] == "cron-connector"
        assert headers["user-agent"] == "Go-http-client/1.1"
        assert "content-type" not in headers and "authorization" not in headers
        assert headers.get("content-length", "0") == "0"
        # proxied like any call (``docs/openfaas.md#call-ids``)
        assert headers["x-call-id"] and int(headers["x-start-time"]) > 0
    count = lambda: running.http.get("/system/functions").json()[0].get("invocationCount", 0)  # noqa: E731
    wait_until(lambda: count() >= 3, "the gateway counted 3 calls")  # counted like any call, once answered


def test_schedules_follow_updates_and_removal(
    running: RunningGateway, recorder_context: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="servey_faas.faas.gateway.cron")
    first, second, third = (tmp_path / f"{n}.jsonl" for n in ("first", "second", "third"))
    running.deploy("tick", recorder_context, **cron("@every 1s", first))
    wait_until(lambda: len(events(first)) >= 1, "tick fired")

    # an update to a schedule that is not due (1 January) stops the @every one at once
    update = running.deployment("tick", recorder_context, **cron("0 0 1 1 *", second))
    assert running.http.put("/system/functions", json=update).status_code == 202
    assert running.gateway.cron.scheduled() == {TARGET: "0 0 1 1 *"}
    running.wait_available("tick")
    before = len(events(second))  # 0, or a call the old schedule fired while the update ran
    time.sleep(3.0)  # three periods of the old schedule
    assert len(events(second)) == before

    # and back to every second, picked up at once
    update = running.deployment("tick", recorder_context, **cron("@every 1s", third))
    assert running.http.put("/system/functions", json=update).status_code == 202
    wait_until(lambda: len(events(third)) >= 2, "tick fired twice on its new schedule")

    # without the annotations it is no cron function any more
    plain = running.deployment("tick", recorder_context, envVars={"RECORD_FILE": str(third)})
    assert running.http.put("/system/functions", json=plain).status_code == 202
    assert running.gateway.cron.scheduled() == {}
    running.http.put("/system/functions", json=update)  # scheduled again, then deleted
    assert running.gateway.cron.scheduled() == {TARGET: "@every 1s"}
    wait_until(lambda: answers(caplog) >= 4, "the gateway logged the cron answers")
    assert running.http.request("DELETE", "/system/functions", json={"functionName": "tick"}).status_code == 200
    assert running.gateway.cron.scheduled() == {}
    time.sleep(1.0)  # a call fired just before the removal may still log its answer
    logged = answers(caplog)
    time.sleep(3.0)
    assert answers(caplog) == logged  # no firing after the removal, not even a 404


def test_firings_overlap_as_under_ce(running: RunningGateway, recorder_context: Path, tmp_path: Path) -> None:
    record, release = tmp_path / "tick.jsonl", tmp_path / "release"
    running.deploy("tick", recorder_context, **cron("@every 1s", record, HOLD_UNTIL=str(release)))
    wait_until(lambda: len(events(record)) >= 2, "a second firing started while the first still runs")
    assert events(record, "end") == []  # no call can end before the release: they overlapped
    release.touch()
    wait_until(lambda: len(events(record, "end")) >= 2, "the held calls ended")


@pytest.mark.parametrize("schedule", ["*/5 * * * * *", "@every 1s; @hourly", "61 * * * *", "@fortnightly"])
def test_an_unparseable_schedule_is_skipped_with_a_log_line(
    running: RunningGateway, recorder_context: Path, tmp_path: Path, schedule: str
) -> None:
    record = tmp_path / "bad.jsonl"
    running.deploy("bad", recorder_context, **cron(schedule, record))
    assert running.gateway.cron.scheduled() == {}
    logs = running.http.get("/system/logs", params={"name": "bad"}).text
    assert "cron-connector: bad.openfaas-fn not scheduled, its schedule does not parse" in logs
    assert running.http.post("/function/bad").text == "recorded"  # the function itself is deployed
    update = running.deployment("bad", recorder_context, **cron("@every 1s", record))
    assert running.http.put("/system/functions", json=update).status_code == 202
    assert running.gateway.cron.scheduled() == {"bad.openfaas-fn": "@every 1s"}


def test_only_the_cron_topic_is_a_cron_function() -> None:
    def spec(annotations: dict[str, str] | None) -> FunctionDeployment:
        return FunctionDeployment("f", "file:///x", annotations=annotations)

    assert cron_expression(spec({"topic": "cron-function", "schedule": "@hourly"})) == "@hourly"
    assert cron_expression(spec({"topic": "cron-function,other", "schedule": "@hourly"})) is None
    assert cron_expression(spec({"topic": "cron-function"})) is None
    assert cron_expression(spec({"schedule": "@hourly"})) is None
    assert cron_expression(spec(None)) is None


MakeContext = Callable[[str], Path]
