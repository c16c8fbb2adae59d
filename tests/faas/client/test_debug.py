"""FAAS_DEBUG=1 logs every request and response with credentials and secret values redacted."""

from __future__ import annotations

import logging

import pytest

from servey_faas.faas import BasicAuth, GatewayClient, Secret, TokenAuth
from servey_faas.faas.client._debug import redact_body
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import PASSWORD, USER


def test_debug_logs_are_redacted(gateway_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="servey_faas.faas")
    with GatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={"FAAS_DEBUG": "1"}) as c:
        c.create_secret(Secret("api-key", value="top-secret-value"))
        c.list_secrets()
    text = caplog.text
    assert "POST" in text and "/system/secrets" in text and "201" in text
    assert "<redacted>" in text
    assert "top-secret-value" not in text and PASSWORD not in text
    import base64

    assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in text


def test_debug_off_logs_nothing(gateway_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="servey_faas.faas")
    with GatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        c.list_secrets()
    assert caplog.records == []


def test_token_exchange_bodies_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeGateway(iam=True, subject_tokens={"upstream-secret-token"})
    caplog.set_level(logging.DEBUG, logger="servey_faas.faas")
    with fake.serve() as url:

        class Source:
            def token(self) -> str:
                return "upstream-secret-token"

        auth = TokenAuth(f"{url}/oauth/token", Source())
        with GatewayClient(url, auth, function_auth=True, environ={"FAAS_DEBUG": "1"}) as c:
            c.get_function_token("echo-fn")
            gateway_token = auth.token()
    assert "upstream-secret-token" not in caplog.text and gateway_token not in caplog.text
    assert "subject_token=%3Credacted%3E" in caplog.text


def test_redact_body_forms_and_json() -> None:
    assert redact_body(b'{"name":"k","value":"v","nested":[{"rawValue":"x"}]}', "application/json") == (
        '{"name": "k", "value": "<redacted>", "nested": [{"rawValue": "<redacted>"}]}'
    )
    form = redact_body(b"client_id=a&client_secret=b", "application/x-www-form-urlencoded")
    assert form == "client_id=a&client_secret=%3Credacted%3E"
    assert redact_body(b"\xff\xfe", "application/octet-stream") == "<2 bytes>"
