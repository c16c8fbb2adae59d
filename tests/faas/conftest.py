"""Fixtures of the faas tests: a spec-checking fake gateway on real loopback HTTP (the gateway
client and deploy tests); the demo app and the test app, built once per session (the deploy and
runtime tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servey_faas.app import ServeyApp
from servey_faas.faas import BasicAuth, GatewayClient
from servey_faas.faas.deploy.packager import BuildOptions, BuildResult, build
from servey_faas.testing.fake_gateway import FakeGateway
from tests.demo import load_demo_app

from .support import Project, load_app, write_project

USER, PASSWORD = "admin", "s3cr3t-pw"
#: The test app's package name (unique: it must not collide with other tests' modules).
TEST_PACKAGE = "svf_packaging_test_actions"


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


@pytest.fixture(scope="session")
def demo_app() -> ServeyApp:
    return load_demo_app()


@pytest.fixture(scope="session")
def test_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return write_project(tmp_path_factory.mktemp("project"), TEST_PACKAGE)


@pytest.fixture(scope="session")
def test_app(test_project: Project) -> ServeyApp:
    return load_app(test_project)


@pytest.fixture(scope="session")
def test_build(test_app: ServeyApp, test_project: Project) -> BuildResult:
    """The test app built once (router included) into ``<project>/serverless``."""
    return build(test_app, BuildOptions(output_dir=test_project.root / "serverless", registry="registry.test/acme"))


def context_of(result: BuildResult, action: str) -> Path:
    return next(f.context for f in result.functions if f.action_name == action)
