"""Fixtures for the command-line tests.

- ``clean_env`` (autouse): none of the developer's SERVEY_* / SERVER_* variables leak in, and
  ``sys.path`` is a copy without the ``""`` entry, so the CLI must put the project folder on it
  itself (as it must under the ``servey-faas`` console script) and that change is undone.
- ``demo``: the current folder is the repository root, whose ``actions/`` the CLI serves.
- ``project``: ``project(source)`` writes a fresh actions package into ``tmp_path`` (a unique
  module name per call, removed from ``sys.modules`` afterwards) and makes ``tmp_path`` the
  current folder; the package is named by ``SERVEY_ACTION_PATH`` or, with ``via="pyproject"``,
  by ``[tool.servey_faas] actions``.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import REPO, MakeProject, Project

_ENVIRONMENT = ("SERVEY_ACTION_PATH", "SERVEY_DEBUG", "SERVER_HOST", "SERVER_PORT")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeProject]:
    packages: list[str] = []

    def make(source: str, *, via: str = "env") -> Project:
        package = f"cli_test_actions_{uuid.uuid4().hex[:12]}"
        made = Project(tmp_path, package)
        made.init.parent.mkdir()
        made.init.write_text(textwrap.dedent(source), encoding="utf-8")
        if via == "env":
            monkeypatch.setenv("SERVEY_ACTION_PATH", package)
        else:
            (tmp_path / "pyproject.toml").write_text(f'[tool.servey_faas]\nactions = "{package}"\n', encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        importlib.invalidate_caches()
        packages.append(package)
        return made

    yield make
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in packages):
            del sys.modules[name]
