"""Finding actions in a module or package (servey_faas/discovery.py)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from servey_faas import action
from servey_faas.action import Action, get_action
from servey_faas.discovery import ActionRegistry, find_actions
from servey_faas.errors import ActionNotFoundError, ConfigurationError, DiscoveryError

ACTION = """
from servey_faas import action

@action
def {name}() -> str:
    return "{name}"
"""


class Project:
    """Python files under a temporary folder on ``sys.path``, with a package name unique to the test.

    Every module imported through :meth:`find` is removed from ``sys.modules`` after the test
    (through ``monkeypatch``), so tests never see each other's modules.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.pkg = f"sf_discovery_{uuid.uuid4().hex[:8]}"
        monkeypatch.syspath_prepend(str(root))

    def write(self, relative: str, source: str = "") -> Path:
        """Write ``relative`` (``/``-separated, ``{pkg}`` replaced by the package name)."""
        path = self.root / relative.format(pkg=self.pkg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def find(self, module: str) -> ActionRegistry:
        importlib.invalidate_caches()
        before = set(sys.modules)
        try:
            return find_actions(module.format(pkg=self.pkg))
        finally:
            for name in set(sys.modules) - before:
                # Recorded as "absent before", so monkeypatch deletes it again at teardown.
                self.monkeypatch.setitem(sys.modules, name, sys.modules.pop(name))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(tmp_path, monkeypatch)


def _act(name: str) -> Action:
    def fn() -> None:
        pass

    fn.__name__ = fn.__qualname__ = name
    found = get_action(action(fn))
    assert found is not None
    return found


# --- find_actions -------------------------------------------------------------------------------


def test_package_with_sub_packages_is_walked(project: Project) -> None:
    project.write("{pkg}/__init__.py", ACTION.format(name="top"))
    project.write("{pkg}/b_module.py", ACTION.format(name="in_b"))
    project.write("{pkg}/a_module.py", ACTION.format(name="in_a"))
    project.write("{pkg}/sub/__init__.py")
    project.write("{pkg}/sub/deep/__init__.py")
    project.write("{pkg}/sub/deep/leaf.py", ACTION.format(name="leaf"))
    project.write("{pkg}/not_python.txt", "@action\ndef nope() -> None: ...\n")

    registry = project.find("{pkg}")

    # the package first, then its sub-modules by name, depth first
    assert list(registry) == ["top", "in_a", "in_b", "leaf"]
    assert registry["leaf"].fn() == "leaf"
    assert registry["leaf"].fn.__module__ == f"{project.pkg}.sub.deep.leaf"


def test_plain_module(project: Project) -> None:
    project.write(
        "{pkg}.py",
        """
        from servey_faas import action

        @action
        def one() -> int:
            return 1

        @action(name="two")
        def second() -> int:
            return 2

        def helper() -> int:
            return 3
        """,
    )
    registry = project.find("{pkg}")
    assert list(registry) == ["one", "two"]
    assert registry["two"].fn() == 2


def test_a_sub_module_can_be_the_action_path(project: Project) -> None:
    project.write("{pkg}/__init__.py", ACTION.format(name="outside"))
    project.write("{pkg}/api.py", ACTION.format(name="inside"))
    assert list(project.find("{pkg}.api")) == ["inside"]


def test_package_without_actions_gives_an_empty_registry(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    project.write("{pkg}/helpers.py", "def helper() -> None:\n    pass\n")
    assert len(project.find("{pkg}")) == 0


def test_action_imported_into_another_module_is_found_once(project: Project) -> None:
    project.write("{pkg}/__init__.py", "from .impl import shared\nfrom .impl import shared as alias\n")
    project.write("{pkg}/impl.py", ACTION.format(name="shared"))
    project.write("{pkg}/reexport.py", "from .impl import shared\n")
    registry = project.find("{pkg}")
    assert list(registry) == ["shared"]
    assert registry["shared"].fn.__module__ == f"{project.pkg}.impl"


def test_two_actions_with_one_name_name_both_places(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    first = project.write("{pkg}/first.py", ACTION.format(name="clash"))
    second = project.write(
        "{pkg}/second.py",
        """
        from servey_faas import action

        @action(name="clash")
        def other() -> None:
            pass
        """,
    )
    with pytest.raises(DiscoveryError, match="two actions are named 'clash'") as info:
        project.find("{pkg}")
    message = str(info.value)
    assert f"{project.pkg}.first:clash ({first}:" in message
    assert f"{project.pkg}.second:other ({second}:" in message


def test_syntax_error_names_the_module_and_the_error(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    broken = project.write("{pkg}/broken.py", "def oops(:\n    pass\n")
    with pytest.raises(DiscoveryError) as info:
        project.find("{pkg}")
    message = str(info.value)
    assert f"cannot import actions module '{project.pkg}.broken'" in message
    assert "SyntaxError" in message
    assert f"at {broken}:1" in message  # the file and line of the syntax error, not importlib's
    assert isinstance(info.value.__cause__, SyntaxError)


def test_missing_dependency_inside_a_module_names_the_module_and_the_dependency(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    needs = project.write("{pkg}/needs_dep.py", "import sf_no_such_dependency_xyz\n")
    with pytest.raises(DiscoveryError) as info:
        project.find("{pkg}")
    message = str(info.value)
    assert f"cannot import actions module '{project.pkg}.needs_dep'" in message
    assert "ModuleNotFoundError: No module named 'sf_no_such_dependency_xyz'" in message
    assert f"at {needs}:1" in message
    assert "set SERVEY_ACTION_PATH" not in message  # the actions module itself exists


def test_import_error_of_a_name_inside_a_module(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    project.write("{pkg}/bad_name.py", "from os import no_such_name_xyz\n")
    with pytest.raises(DiscoveryError, match=r"'\w+\.bad_name': ImportError: cannot import name 'no_such_name_xyz'"):
        project.find("{pkg}")


def test_exception_at_import_names_the_module_the_error_and_the_line(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    raising = project.write("{pkg}/raising.py", "x = 1\nraise RuntimeError('config missing')\n")
    with pytest.raises(DiscoveryError) as info:
        project.find("{pkg}")
    message = str(info.value)
    assert f"cannot import actions module '{project.pkg}.raising': RuntimeError: config missing" in message
    assert f"at {raising}:2" in message
    assert isinstance(info.value.__cause__, RuntimeError)


def test_invalid_action_definition_at_import_is_reported(project: Project) -> None:
    project.write(
        "{pkg}.py",
        """
        from servey_faas import action

        @action(timeout=0)
        def bad() -> None:
            pass
        """,
    )
    with pytest.raises(DiscoveryError, match="ActionDefinitionError: action 'bad': timeout must be seconds > 0"):
        project.find("{pkg}")


def test_missing_module_is_a_clear_error(project: Project) -> None:
    with pytest.raises(DiscoveryError) as info:
        project.find("{pkg}")
    message = str(info.value)
    assert f"cannot import actions module '{project.pkg}': no module named '{project.pkg}'" in message
    assert "SERVEY_ACTION_PATH" in message
    assert "[tool.servey_faas] actions" in message


def test_missing_sub_module_of_an_existing_package(project: Project) -> None:
    project.write("{pkg}/__init__.py")
    with pytest.raises(DiscoveryError, match=r"no module named '\w+\.missing'"):
        project.find("{pkg}.missing")


def test_discovery_errors_are_configuration_errors() -> None:
    assert issubclass(DiscoveryError, ConfigurationError)


# --- ActionRegistry -----------------------------------------------------------------------------


def test_registry_is_a_read_only_mapping_in_order() -> None:
    b, a = _act("b_action"), _act("a_action")
    registry = ActionRegistry([b, a])
    assert list(registry) == ["b_action", "a_action"]
    assert len(registry) == 2
    assert registry["a_action"] is a
    assert dict(registry) == {"b_action": b, "a_action": a}
    assert not hasattr(registry, "__setitem__")


def test_registry_keeps_the_same_action_once() -> None:
    one = _act("one")
    assert list(ActionRegistry([one, one])) == ["one"]


def test_registry_rejects_two_functions_with_one_name() -> None:
    with pytest.raises(DiscoveryError, match="two actions are named 'same'"):
        ActionRegistry([_act("same"), _act("same")])


@pytest.mark.parametrize("asked", ["say_hello", "say-hello"])
def test_get_action_reads_dashes_as_underscores(asked: str) -> None:
    say_hello = _act("say_hello")
    assert ActionRegistry([say_hello]).get_action(asked) is say_hello


def test_get_action_not_found_lists_the_actions() -> None:
    registry = ActionRegistry([_act("zeta"), _act("alpha")])
    with pytest.raises(ActionNotFoundError, match=r"no action named 'nope' \(actions: alpha, zeta\)"):
        registry.get_action("nope")
    with pytest.raises(ActionNotFoundError, match=r"\(actions: none\)"):
        ActionRegistry([]).get_action("nope")


def test_get_action_is_exact_about_case() -> None:
    with pytest.raises(ActionNotFoundError):
        ActionRegistry([_act("say_hello")]).get_action("Say_Hello")
