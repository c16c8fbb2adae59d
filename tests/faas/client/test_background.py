"""Background channels on OpenFaaS: publishing queues the action on the gateway's async route
(``docs/openfaas.md#asynchronous-invocation-and-callbacks``), and the queue runs the action's own function."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from servey_faas import action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError, ValidationError
from servey_faas.faas import BasicAuth, GatewayClient
from servey_faas.faas.client.background import OpenFaaSBackgroundSender, runs_on_openfaas
from servey_faas.faas.runtime import function_app
from servey_faas.scheduling.channels import (
    CeleryBackgroundSender,
    LocalBackgroundWorker,
    background_action_channel,
    default_backend,
)
from servey_faas.settings import CelerySettings
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import PASSWORD, USER


def _recorder(tmp_path: Path) -> tuple[object, Path]:
    ledger = tmp_path / "ledger.jsonl"
    lock = threading.Lock()

    @action
    def record_order(order_number: int, note: str = "") -> int:
        with lock, ledger.open("a") as f:
            f.write(json.dumps({"order_number": order_number, "note": note}) + "\n")
        return order_number

    return record_order, ledger


def test_publish_queues_the_action_on_its_function_and_the_queue_runs_it(
    gateway: FakeGateway, gateway_url: str, tmp_path: Path
) -> None:
    record_order, ledger = _recorder(tmp_path)
    found = get_action(record_order)
    assert found is not None
    app = ServeyApp.from_registry(ActionRegistry([found]))
    gateway.attach("shop-record-order", function_app(app, "record_order"))
    with GatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as client:
        channel = background_action_channel(
            record_order,
            backend=OpenFaaSBackgroundSender(client, prefix="shop-"),  # type: ignore[arg-type]
        )
        call_ids = [channel.publish(order_number=7, note="gift"), channel.publish(order_number=8)]
        assert gateway.wait_idle()

    queued = [r for r in gateway.requests if r.path.startswith("/async-function/")]
    assert [r.path for r in queued] == ["/async-function/shop-record-order.openfaas-fn"] * 2
    assert [r.headers["x-call-id"] for r in queued] == call_ids
    assert json.loads(queued[0].body) == {"order_number": 7, "note": "gift"}
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert lines == [{"order_number": 7, "note": "gift"}, {"order_number": 8, "note": ""}]  # once per publish


def test_invalid_params_are_refused_before_anything_is_queued(
    gateway: FakeGateway, client: GatewayClient, tmp_path: Path
) -> None:
    record_order, _ = _recorder(tmp_path)
    sender = OpenFaaSBackgroundSender(client, prefix="shop-")
    channel = background_action_channel(record_order, backend=sender)  # type: ignore[arg-type]

    with pytest.raises(ValidationError):
        channel.publish(order_number="seven")
    channel.publish(order_number=1)  # the same channel and client do reach the gateway

    assert [r.path for r in gateway.requests] == ["/async-function/shop-record-order.openfaas-fn"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, LocalBackgroundWorker),
        # running deployed (``docs/openfaas.md#function-identity``)
        ({"OPENFAAS_NAME": "say-hello"}, OpenFaaSBackgroundSender),
        ({"SERVEY_BACKGROUND": "openfaas"}, OpenFaaSBackgroundSender),  # told to
        ({"SERVEY_BACKGROUND": "local", "OPENFAAS_NAME": "say-hello"}, LocalBackgroundWorker),
    ],
)
def test_the_backend_follows_where_the_app_runs(environ: dict[str, str], expected: type) -> None:
    assert isinstance(default_backend(CelerySettings(), environ), expected)


def test_celery_wins_over_openfaas_unless_told_otherwise() -> None:
    celery = CelerySettings(broker_url="redis://127.0.0.1:6379/0")
    assert isinstance(default_backend(celery, {"OPENFAAS_NAME": "x"}), CeleryBackgroundSender)
    assert isinstance(default_backend(celery, {"SERVEY_BACKGROUND": "openfaas"}), OpenFaaSBackgroundSender)


def test_the_sender_names_functions_as_the_packager_does() -> None:
    sender = default_backend(
        CelerySettings(),
        {"OPENFAAS_NAME": "shop-a", "SERVEY_FUNCTION_PREFIX": "shop-", "SERVEY_FUNCTION_NAMESPACE": "staging"},
    )
    assert isinstance(sender, OpenFaaSBackgroundSender)
    assert (sender.prefix, sender.namespace) == ("shop-", "staging")


@pytest.mark.parametrize("environ", [{"SERVEY_BACKGROUND": "kafka"}, {"SERVEY_BACKGROUND": "celery"}])
def test_bad_background_settings_are_clear_errors(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="SERVEY_BACKGROUND"):
        default_backend(CelerySettings(), environ)


def test_runs_on_openfaas() -> None:
    assert runs_on_openfaas({"OPENFAAS_NAME": "fn"}) and not runs_on_openfaas({})
