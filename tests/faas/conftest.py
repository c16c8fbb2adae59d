"""Fixtures for the gateway client tests: a spec-checking fake gateway on real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servey_faas.faas import BasicAuth, GatewayClient
from servey_faas.testing.fake_gateway import FakeGateway

USER, PASSWORD = "admin", "s3cr3t-pw"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    """A fake CE gateway with basic auth; fails the test if any request broke the spec."""
    fake = FakeGateway(basic_auth=(USER, PASSWORD))
    yield fake
    assert fake.violations == []


@pytest.fixture
def gateway_url(gateway: FakeGateway) -> Iterator[str]:
    with gateway.serve() as url:
        yield url


@pytest.fixture
def client(gateway_url: str) -> Iterator[GatewayClient]:
    with GatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        yield c
