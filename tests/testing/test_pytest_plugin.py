"""The servey_faas pytest plugin: one test per Example, run in throwaway projects with pytester.

Each project gets its own actions module name: the inner pytest runs in this process, where the
repository's ``actions`` package is already imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Here rather than in tests/testing/conftest.py: pytest refuses pytest_plugins in a conftest that is
# not loaded at start-up (as with `pytest .` from the repository root); a test module may hold it.
pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]

GOOD_ACTIONS = """
from dataclasses import dataclass

from servey_faas import WEB_GET, WEB_POST, Example, action


@action(
    triggers=(WEB_GET,),
    examples=(
        Example("small", {"a": 1, "b": 2}, 3),
        Example("negative", {"a": -1, "b": -2}, -3),
        Example("not_a_test", {"a": 1, "b": 1}, 99, include_in_tests=False),
    ),
)
def add(a: int, b: int) -> int:
    return a + b


@dataclass
class Reading:
    station: str
    celsius: float


@action(triggers=(WEB_POST,), examples=(Example("oslo", {"city": "Oslo"}, {"station": "OSLO", "celsius": 4.0}),))
async def measure(city: str) -> Reading:
    return Reading(city.upper(), float(len(city)))


@action(examples=(Example("hidden", {}, "x", include_in_tests=False),))
def only_hidden_examples() -> str:
    return "y"


@action
def no_examples() -> int:
    return 1
"""

FAILING_ACTIONS = """
from servey_faas import Example, action


@action(examples=(Example("world", {"name": "World"}, "Hello World!"), Example("ok", {"name": "x"}, "hello x")))
def greet(name: str) -> str:
    return f"hello {name}"
"""


def _project(pytester: pytest.Pytester, module: str, source: str, *, ini: bool = True) -> None:
    lines = ["[tool.servey_faas]", f'actions = "{module}"', ""]
    if ini:
        lines += ["[tool.pytest.ini_options]", "servey_examples = true", ""]
    pytester.makepyprojecttoml("\n".join(lines))
    pytester.makepyfile(**{module: textwrap.dedent(source)})


@pytest.fixture(autouse=True)
def _no_action_path_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVEY_ACTION_PATH", raising=False)


def _collected_ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_every_included_example_is_a_test_with_id_action_colon_colon_example(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_ids", GOOD_ACTIONS)
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == 0
    assert _collected_ids(result) == ["add::small", "add::negative", "measure::oslo"]


def test_passing_examples_pass_including_async_actions(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_pass", GOOD_ACTIONS)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["add::small PASSED*", "add::negative PASSED*", "measure::oslo PASSED*"])


def test_a_wrong_example_fails_with_expected_and_actual(pytester: pytest.Pytester) -> None:
    _project(pytester, "failing_actions_diff", FAILING_ACTIONS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ greet::world _*",
            """the result differs from the example's: expected "Hello World!", got "hello World\"""",
            "  action:   failing_actions_diff:greet (*failing_actions_diff.py:*)",
            "  example:  world",
            '  params:   {"name": "World"}',
            '  expected: "Hello World!"',
            '  actual:   "hello World"',
            "assert 'hello World' == 'Hello World!'",
            "  - Hello World!",
            "  + hello World",
            "FAILED greet::world - the result differs from the example's: *",
        ]
    )


def test_an_action_that_raises_fails_with_its_traceback(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        "raising_actions",
        """
        from servey_faas import Example, action

        @action(examples=(Example("boom", {}, 1),))
        def explode() -> int:
            raise LookupError("no such row")
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LookupError: no such row*", "FAILED explode::boom - LookupError: no such row"])


def test_minus_k_selects_one_example(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_k", GOOD_ACTIONS)
    result = pytester.runpytest("-v", "-k", "add::negative")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["add::negative PASSED*"])
    by_action = pytester.runpytest("-q", "-k", "add and not negative")
    by_action.assert_outcomes(passed=1, deselected=2)


def test_minus_m_selects_the_generated_tests(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_m", GOOD_ACTIONS)
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    pytester.runpytest("-m", "servey_example", "--strict-markers").assert_outcomes(passed=3, deselected=1)
    pytester.runpytest("-m", "not servey_example").assert_outcomes(passed=1, deselected=3)


def test_minus_x_stops_at_the_first_failing_example(pytester: pytest.Pytester) -> None:
    _project(pytester, "failing_actions_x", FAILING_ACTIONS)
    result = pytester.runpytest("-x")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_the_users_own_tests_run_too(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_own", GOOD_ACTIONS)
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["test_own.py::test_own PASSED*"])


def test_disabled_without_the_ini_option(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_off", GOOD_ACTIONS, ini=False)
    result = pytester.runpytest("--collect-only", "-q")
    assert _collected_ids(result) == []
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_flag_enables_and_the_no_flag_disables(pytester: pytest.Pytester) -> None:
    _project(pytester, "good_actions_flags", GOOD_ACTIONS, ini=False)
    assert len(_collected_ids(pytester.runpytest("--collect-only", "-q", "--servey-examples"))) == 3
    _project(pytester, "good_actions_flags", GOOD_ACTIONS, ini=True)
    off = pytester.runpytest("--collect-only", "-q", "--no-servey-examples")
    assert _collected_ids(off) == []


def test_the_environment_names_the_actions_module(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(pytester, "good_actions_env", GOOD_ACTIONS)
    pytester.makepyfile(other_actions_env=FAILING_ACTIONS)
    monkeypatch.setenv("SERVEY_ACTION_PATH", "other_actions_env")
    result = pytester.runpytest("--collect-only", "-q")
    assert _collected_ids(result) == ["greet::world", "greet::ok"]


def test_a_broken_actions_module_is_a_collection_error(pytester: pytest.Pytester) -> None:
    _project(pytester, "broken_actions", "import json\nvalue = 1 / 0\n")
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting servey_examples*",
            "servey_faas could not load the actions for the example tests: cannot import actions module "
            "'broken_actions': ZeroDivisionError: division by zero at *broken_actions.py:2",
            "ERROR servey_examples",
            "*Interrupted: 1 error during collection*",
        ]
    )
    # --collect-only reports it too: no silent "0 examples"
    collect = pytester.runpytest("--collect-only", "-q")
    assert collect.ret == pytest.ExitCode.INTERRUPTED
    collect.stdout.fnmatch_lines(["*cannot import actions module 'broken_actions'*"])


def test_a_missing_actions_module_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.servey_faas]\nactions = "no_such_actions"\n\n[tool.pytest.ini_options]\nservey_examples = true\n'
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*cannot import actions module 'no_such_actions': no module named 'no_such_actions'*"])


def test_an_invalid_example_is_a_collection_error(pytester: pytest.Pytester) -> None:
    _project(
        pytester,
        "invalid_example_actions",
        """
        from servey_faas import Example, action

        @action(examples=(Example("typo", {"nme": "x"}, "x"),))
        def echo(name: str) -> str:
            return name
        """,
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*action 'echo': example 'typo' names unknown params nme*"])


def test_the_plugin_imports_nothing_of_servey_faas_unless_enabled(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            loaded = sorted(m for m in sys.modules if m.startswith("servey_faas"))
            print("LOADED:", ",".join(loaded))
        """
    )
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    # Only this plugin, loaded by its entry point name, as autoloading would (other plugins slow start-up).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-s", "-p", "servey_faas")
    result.assert_outcomes(passed=1)
    loaded = next(line for line in result.outlines if "LOADED:" in line).split("LOADED: ")[1].split(",")
    assert "servey_faas.testing.pytest_plugin" in loaded
    heavy = {"servey_faas.app", "servey_faas.discovery", "servey_faas.invocation", "servey_faas.testing.client"}
    assert not heavy & set(loaded), loaded


def test_this_repository_collects_its_demo_examples() -> None:
    # The repository's pyproject.toml sets servey_examples = true; tests/ is ignored here so that
    # only the plugin's items are listed, and only this plugin is loaded (by its entry point name).
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "servey_faas"]
    completed = subprocess.run(
        [*command, "--ignore-glob=tests/*"],
        cwd=REPO,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ids = [line for line in completed.stdout.splitlines() if "::" in line]
    assert "say_hello::world" in ids
    assert {"cancel_order::cancel", "cancel_order::keep", "current_temperature::oslo"} <= set(ids)
    assert not any(i.startswith("quote_order::") for i in ids)  # its only example has include_in_tests=False


def test_protected_actions_run_their_examples_as_a_caller_with_their_scopes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No JWT key is configured (examples run in-process, no token is verified), and the action
    gets an Authorization holding its access control's scope."""
    for name in ("JWT_SECRET_KEY", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    _project(
        pytester,
        "protected_actions",
        """
        from servey_faas import Authorization, Example, ScopeAccessControl, action

        @action(access_control=ScopeAccessControl("orders:read"), examples=(Example("mine", {}, ["orders:read"]),))
        def my_scopes(authorization: Authorization) -> list[str]:
            return sorted(authorization.scopes)

        @action(examples=(Example("anonymous", {}, "nobody"),))
        def who(authorization: Authorization | None = None) -> str:
            return "nobody" if authorization is None else "somebody"
        """,
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
