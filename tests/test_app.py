"""The app: settings, actions and invokers found and built once (servey_faas/app.py)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from servey_faas import action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ActionDefinitionError, ActionNotFoundError, DiscoveryError, ValidationError
from servey_faas.settings import Settings

ACTIONS = """
from servey_faas import WEB_GET, Example, action

@action(triggers=(WEB_GET,), examples=(Example(name="w", params={"name": "W"}, result="Hello W!"),))
def say_hello(name: str) -> str:
    return f"Hello {name}!"

@action
async def add(a: int, b: int = 1) -> int:
    return a + b
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, uniquely named actions package on ``sys.path``; its modules are forgotten afterwards."""
    name = f"sf_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / name / "greetings.py").write_text(textwrap.dedent(ACTIONS), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    before = set(sys.modules)
    yield name
    for module in set(sys.modules) - before:
        monkeypatch.setitem(sys.modules, module, sys.modules.pop(module))  # deleted again at teardown


def test_load_finds_actions_and_builds_one_invoker_each(package: str, tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, action_path=package)
    app = ServeyApp.load(settings)
    assert app.settings is settings
    assert list(app.actions) == ["say_hello", "add"]
    assert list(app.invokers) == ["say_hello", "add"]
    assert app.invokers["say_hello"].action is app.actions["say_hello"]
    assert app.invokers["say_hello"].codec is app.invokers["add"].codec  # one codec per app
    assert app.invoker("say_hello").invoke_sync({"name": "Ada"}) == "Hello Ada!"
    assert app.invoker("add").invoke_sync({"a": 2}) == 3


def test_load_without_settings_reads_the_environment_and_cwd(
    package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.servey_faas]\nactions = "{package}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERVEY_ACTION_PATH", raising=False)
    monkeypatch.delenv("SERVER_PORT", raising=False)
    app = ServeyApp.load()
    assert app.settings.action_path == package
    assert list(app.actions) == ["say_hello", "add"]


def test_load_follows_servey_action_path(package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SERVEY_ACTION_PATH", f"{package}.greetings")
    monkeypatch.delenv("SERVER_PORT", raising=False)
    assert list(ServeyApp.load().actions) == ["say_hello", "add"]


@pytest.mark.parametrize("name", ["say_hello", "say-hello"])
def test_invoker_by_name_reads_dashes_as_underscores(package: str, tmp_path: Path, name: str) -> None:
    app = ServeyApp.load(Settings(project_dir=tmp_path, action_path=package))
    assert app.invoker(name) is app.invokers["say_hello"]


def test_invoker_of_an_unknown_action(package: str, tmp_path: Path) -> None:
    app = ServeyApp.load(Settings(project_dir=tmp_path, action_path=package))
    with pytest.raises(ActionNotFoundError, match=r"no action named 'nope' \(actions: add, say_hello\)"):
        app.invoker("nope")


def test_load_of_a_missing_module(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="no module named 'sf_app_missing_xyz'"):
        ServeyApp.load(Settings(project_dir=tmp_path, action_path="sf_app_missing_xyz"))


def test_from_registry_builds_invokers_for_listed_actions() -> None:
    def double(x: int) -> int:
        return 2 * x

    found = get_action(action(double))
    assert found is not None
    app = ServeyApp.from_registry(ActionRegistry([found]))
    assert app.settings == Settings()
    assert app.invoker("double").invoke_sync({"x": 4}) == 8


def test_from_registry_reports_actions_that_cannot_be_served() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    found = get_action(action(untyped))
    assert found is not None
    with pytest.raises(ActionDefinitionError, match="parameter 'x' needs a type annotation"):
        ServeyApp.from_registry(ActionRegistry([found]))


def test_from_registry_builds_invokers_from_precomputed_schemas() -> None:
    def double(x: int) -> int:
        return 2 * x

    def halve(x: float) -> float:
        return x / 2

    actions = ActionRegistry([a for a in (get_action(action(double)), get_action(action(halve))) if a is not None])
    computed = ServeyApp.from_registry(actions)
    documents = {"double": computed.invoker("double").schema_document}
    documents["double"]["params"]["properties"]["x"]["maximum"] = 10  # taken as given, not generated
    app = ServeyApp.from_registry(actions, schemas=documents)
    assert app.invoker("double").params_schema["properties"]["x"] == {"type": "integer", "maximum": 10}
    assert app.invoker("double").invoke_sync({"x": 4}) == 8
    with pytest.raises(ValidationError):
        app.invoker("double").invoke_sync({"x": 11})
    assert app.invoker("halve").schema_document == computed.invoker("halve").schema_document
    stale = {"double": {"params": {**documents["double"]["params"], "required": []}, "result": {"type": "integer"}}}
    with pytest.raises(ActionDefinitionError, match=r"action 'double': the precomputed schemas .* stale"):
        ServeyApp.from_registry(actions, schemas=stale)


def test_app_is_frozen() -> None:
    app = ServeyApp.from_registry(ActionRegistry([]))
    with pytest.raises(AttributeError):
        app.settings = Settings()  # type: ignore[misc]
