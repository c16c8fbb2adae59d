"""Fixtures of the packaging tests: the demo app and the test app, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from servey_faas.app import ServeyApp
from servey_faas.faas.deploy.packager import BuildOptions, BuildResult, build

from .support import Project, load_app, load_demo_app, write_project

#: The test app's package name (unique: it must not collide with other tests' modules).
TEST_PACKAGE = "svf_packaging_test_actions"


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
