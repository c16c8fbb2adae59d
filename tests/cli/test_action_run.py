"""``--run=action``: one action in-process, its JSON result on stdout, user errors as ``Error:``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .support import BROKEN_ACTIONS, TEST_ACTIONS, MakeProject, invoke


def assert_user_error(result: object, exit_code: int, message: str) -> None:
    """Exit ``exit_code``, nothing on stdout, ``Error: message`` (and no traceback) on stderr."""
    from click.testing import Result

    assert isinstance(result, Result)
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert f"Error: {message}" in result.stderr
    assert "Traceback" not in result.output
    assert "Usage:" not in result.stderr


def test_prints_the_json_result_of_a_demo_action(demo: Path) -> None:
    result = invoke("--run=action", "--action=say_hello", '--event={"name": "World"}')
    assert result.exit_code == 0, result.output
    assert result.stdout == '"Hello World!"\n'
    assert result.stderr == ""


def test_action_name_may_use_dashes(demo: Path) -> None:
    result = invoke("--action", "say-hello", "--event", '{"name": "Ada"}', "--run", "action")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "Hello Ada!"


def test_async_demo_action_is_awaited(demo: Path) -> None:
    result = invoke("--run=action", "--action=current_temperature", '--event={"city": "Oslo"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"station": "OSLO", "celsius": 4.0}


def test_event_defaults_to_no_params(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=greet")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "Hi nobody!"


def test_async_action_result_is_marshalled(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=add", '--event={"a": 2, "b": 40}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == 42


def test_event_from_a_file(project: MakeProject, tmp_path: Path) -> None:
    project(TEST_ACTIONS)
    (tmp_path / "event.json").write_text('{"point": {"x": 1, "y": 2}}', encoding="utf-8")
    result = invoke("--run=action", "--action=mirror", "--event=@event.json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"x": 2, "y": 1}


def test_event_from_stdin(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=greet", "--event=-", input='{"name": "stdin", "punctuation": "?"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "Hi stdin?"


def test_actions_module_from_pyproject_outside_sys_path(project: MakeProject) -> None:
    made = project(TEST_ACTIONS, via="pyproject")
    assert str(made.root) not in sys.path
    result = invoke("--run=action", "--action=greet", '--event={"name": "pyproject"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == "Hi pyproject!"
    assert sys.path[0] == str(made.root.resolve())


def test_project_folder_already_on_sys_path_is_not_added_again(project: MakeProject) -> None:
    made = project(TEST_ACTIONS)
    sys.path.append(str(made.root))
    before = list(sys.path)
    assert invoke("--run=action", "--action=greet").exit_code == 0
    assert sys.path == before


def test_unknown_action_names_the_actions_there_are(demo: Path) -> None:
    result = invoke("--run=action", "--action=nope")
    assert_user_error(result, 2, "no action named 'nope' (actions: ")
    assert "say_hello" in result.stderr


def test_missing_action_option_is_a_usage_error(demo: Path) -> None:
    result = invoke("--run=action")
    assert result.exit_code == 2
    assert "Error: Missing option '--action'." in result.stderr


def test_invalid_params_list_every_field(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=add", '--event={"a": "two", "c": 3}')
    assert_user_error(result, 2, "invalid params for action 'add':\n")
    lines = result.stderr.splitlines()[1:]
    assert "  a: 'two' is not of type 'integer'" in lines
    assert "  b: field required" in lines
    assert "  c: unexpected field" in lines


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('{"name": ', "--event is not valid JSON: Expecting value: line 1 column 10 (char 9)"),
        ("[1, 2]", "--event must be a JSON object of params, not an array"),
        ('"World"', "--event must be a JSON object of params, not a string"),
        ("3", "--event must be a JSON object of params, not a number"),
        ("null", "--event must be a JSON object of params, not null"),
        ("@missing.json", "cannot read --event file missing.json: No such file or directory"),
    ],
)
def test_bad_event_is_an_error_with_exit_code_2(project: MakeProject, event: str, message: str) -> None:
    project(TEST_ACTIONS)
    assert_user_error(invoke("--run=action", "--action=greet", f"--event={event}"), 2, message)


def test_bad_json_in_an_event_file_names_the_file(project: MakeProject, tmp_path: Path) -> None:
    project(TEST_ACTIONS)
    (tmp_path / "event.json").write_text("{oops}", encoding="utf-8")
    result = invoke("--run=action", "--action=greet", "--event=@event.json")
    assert_user_error(result, 2, "--event file event.json is not valid JSON: Expecting property name")


def test_exception_raised_by_the_action_is_reported_without_traceback(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=explode", '--event={"reason": "no such order"}')
    assert_user_error(result, 1, "action 'explode' raised ValueError: no such order")
    assert result.stderr == "Error: action 'explode' raised ValueError: no such order\n"


def test_exception_without_message(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=explode_quietly")
    assert_user_error(result, 1, "action 'explode_quietly' raised RuntimeError")
    assert result.stderr.endswith("raised RuntimeError\n")


def test_servey_debug_prints_the_traceback(project: MakeProject) -> None:
    made = project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=explode", env={"SERVEY_DEBUG": "1"})
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert f'File "{made.init}", line' in result.stderr
    assert "ValueError: bad input\n" in result.stderr
    assert result.stderr.endswith("Error: action 'explode' raised ValueError: bad input\n")


@pytest.mark.parametrize("value", ["0", "", "no"])
def test_servey_debug_off_values(project: MakeProject, value: str) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=explode", env={"SERVEY_DEBUG": value})
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr


def test_result_without_json_form_is_an_error(project: MakeProject) -> None:
    project(TEST_ACTIONS)
    result = invoke("--run=action", "--action=not_a_number")
    assert_user_error(result, 1, "action 'not_a_number' returned a value with no JSON form")


def test_broken_actions_module_is_an_error_without_traceback(project: MakeProject) -> None:
    made = project(BROKEN_ACTIONS)
    result = invoke("--run=action", "--action=greet")
    assert_user_error(
        result,
        1,
        f"cannot import actions module '{made.package}': RuntimeError: the actions module is broken at {made.init}:2",
    )


def test_missing_actions_module_is_an_error(demo: Path) -> None:
    result = invoke("--run=action", "--action=greet", env={"SERVEY_ACTION_PATH": "no_such_actions_module"})
    assert_user_error(result, 1, "cannot import actions module 'no_such_actions_module': no module named")


def test_servey_debug_shows_the_traceback_of_a_discovery_error(project: MakeProject) -> None:
    project(BROKEN_ACTIONS)
    result = invoke("--run=action", "--action=greet", env={"SERVEY_DEBUG": "1"})
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert "RuntimeError: the actions module is broken" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: cannot import actions module")
