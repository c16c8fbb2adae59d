"""The pytest plugin of servey_faas: one test per ``Example`` of every action.

Registered as the ``pytest11`` entry point ``servey_faas``, so it is loaded wherever servey_faas
is installed; it does nothing (and imports nothing of servey_faas) unless enabled:

- ini option ``servey_examples = true`` (``[tool.pytest.ini_options]`` or ``pytest.ini``), or
- command line ``--servey-examples``; ``--no-servey-examples`` turns it off again.

Once enabled, the actions are found as ``python -m servey_faas`` finds them
(:meth:`servey_faas.settings.Settings.load` with the pytest rootdir as project folder, which is put
on ``sys.path``), and every ``Example`` with ``include_in_tests=True`` becomes a test with node id
``<action>::<example>`` (``say_hello::world``), marked ``servey_example``. Each test calls the action
through the one invocation path, ``ServeyApp.invoker(name).invoke_sync(params)`` (async actions
are awaited on a fresh event loop), and compares the JSON result with the example's. Select with
``-k say_hello``, ``-k "say_hello and world"``, ``-m servey_example`` or ``-m "not servey_example"``.

The tests are added to the session's items in ``pytest_collection_modifyitems`` (``tryfirst``, so
``-k``, ``-m``, ``--deselect`` and ``--lf`` see them), through pytest's own collection
(``Session.genitems``): a failure to find or load the actions is a collection error naming the
problem (``ERROR collecting servey_examples``), which stops the run as any collection error does.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from servey_faas.action import Action
    from servey_faas.app import ServeyApp
    from servey_faas.authorization import Authorization
    from servey_faas.examples import Example

INI_OPTION = "servey_examples"
MARKER = "servey_example"
COLLECTOR_NAME = "servey_examples"

_SYS_PATH_ENTRY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--servey-examples`` / ``--no-servey-examples`` and the ini option ``servey_examples``."""
    group = parser.getgroup("servey_faas", "servey_faas example tests")
    group.addoption(
        "--servey-examples",
        action="store_true",
        dest="servey_examples",
        default=None,
        help="run every servey_faas action Example(include_in_tests=True) as a test",
    )
    group.addoption(
        "--no-servey-examples",
        action="store_false",
        dest="servey_examples",
        help="do not run the servey_faas example tests, whatever the ini option says",
    )
    parser.addini(INI_OPTION, type="bool", default=False, help="run servey_faas action examples as tests")


def examples_enabled(config: pytest.Config) -> bool:
    """True when ``--servey-examples`` was given, or the ini option is true and
    ``--no-servey-examples`` was not given."""
    flag = config.getoption("servey_examples")
    return bool(config.getini(INI_OPTION)) if flag is None else bool(flag)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``servey_example`` marker (when enabled), so ``--strict-markers`` accepts it."""
    if examples_enabled(config):
        config.addinivalue_line("markers", f"{MARKER}: a test generated from a servey_faas action Example")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Take the project folder off ``sys.path`` again if this plugin put it there."""
    entry = config.stash.get(_SYS_PATH_ENTRY, None)
    if entry is not None and entry in sys.path:
        sys.path.remove(entry)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the example tests (when enabled), before ``-k``/``-m``/``--lf`` select among the items."""
    if not examples_enabled(config):
        return
    collector = ServeyExamples.from_parent(session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME)
    items.extend(session.genitems(collector))


class ServeyExamples(pytest.Collector):
    """Finds the app's actions (once per session) and yields one :class:`ActionExamples` per action
    that has examples to test.

    A settings, discovery or action definition error (``ConfigurationError``) is reported as
    this collector's collection error, with the error's message.
    """

    def collect(self) -> Iterator[ActionExamples]:
        from servey_faas.app import ServeyApp
        from servey_faas.errors import ConfigurationError
        from servey_faas.settings import Settings

        root = self.config.rootpath
        _make_importable(self.config, root)
        try:
            # examples run in-process, where no token is ever verified: no JWT key is needed
            app = ServeyApp.load(Settings.load(project_dir=root), verify_tokens=False)
        except ConfigurationError as e:
            raise self.CollectError(f"servey_faas could not load the actions for the example tests: {e}") from e
        for action in app.actions.values():
            if any(example.include_in_tests for example in action.examples):
                yield ActionExamples.from_parent(self, name=action.name, nodeid=action.name, app=app, action=action)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.config.rootpath, None, COLLECTOR_NAME


class ActionExamples(pytest.Collector):
    """The examples of one action with ``include_in_tests=True``, in declaration order."""

    def __init__(self, *, app: ServeyApp, action: Action, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.action = action

    def collect(self) -> Iterator[ExampleItem]:
        for example in self.action.examples:
            if example.include_in_tests:
                yield ExampleItem.from_parent(
                    self, name=example.name, nodeid=f"{self.action.name}::{example.name}", example=example
                )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return *_source_of(self.action, self.config.rootpath), self.action.name


class ExampleItem(pytest.Item):
    """One example run as a test: params in, result compared with the example's result."""

    def __init__(self, *, example: Example, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.example = example
        parent = self.parent
        assert isinstance(parent, ActionExamples)
        self.app: ServeyApp = parent.app
        self.action: Action = parent.action
        self.add_marker(MARKER)
        self.extra_keyword_matches.add(self.nodeid)  # so -k "say_hello::world" selects it

    def runtest(self) -> None:
        invoker = self.app.invoker(self.action.name)
        params = invoker.example_params(self.example.params)
        expected = invoker.example_result(self.example.result)
        actual = invoker.invoke_sync(params, self._authorization())
        if actual != expected:
            raise ExampleMismatch(params, expected, actual)

    def _authorization(self) -> Authorization | None:
        """The caller an example runs as: for an action that needs a token, one holding exactly the
        scopes its access control names; anonymous (None) otherwise."""
        from servey_faas.authorization import Authorization

        if not self.app.invoker(self.action.name).requires_token:
            return None
        scopes = self.action.access_control.scopes if self.action.access_control is not None else ()
        return Authorization(subject_id=f"example:{self.example.name}", scopes=frozenset(scopes))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ExampleMismatch):
            return self._mismatch_report(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return *_source_of(self.action, self.config.rootpath), self.nodeid

    def _mismatch_report(self, mismatch: ExampleMismatch) -> str:
        expected, actual = _json(mismatch.expected), _json(mismatch.actual)
        lines = [
            f"the result differs from the example's: expected {expected}, got {actual}",
            f"  action:   {self.action.location}",
            f"  example:  {self.example.name}",
            f"  params:   {_json(mismatch.params)}",
            f"  expected: {expected}",
            f"  actual:   {actual}",
            "",
        ]
        # What pytest's assertion rewriting explains for `assert actual == expected`; in its diffs
        # "-" lines are the expected result and "+" lines the actual one.
        explanation: list[str] = next(
            (
                found
                for found in self.config.hook.pytest_assertrepr_compare(
                    config=self.config, op="==", left=mismatch.actual, right=mismatch.expected
                )
                if found
            ),
            [f"{mismatch.actual!r} == {mismatch.expected!r}"],
        )
        lines.append(f"assert {explanation[0]}")
        lines.extend(f"  {line}".rstrip() for line in explanation[1:])
        return "\n".join(lines)


class ExampleMismatch(AssertionError):
    """An example's action returned something other than the example's result (JSON forms)."""

    def __init__(self, params: Any, expected: Any, actual: Any) -> None:
        super().__init__(f"expected {expected!r}, got {actual!r}")
        self.params = params
        self.expected = expected
        self.actual = actual


def _make_importable(config: pytest.Config, root: Path) -> None:
    """Put the project folder first on ``sys.path`` (once; removed again at unconfigure)."""
    resolved = root.resolve()
    for entry in sys.path:
        try:
            if Path(entry or ".").resolve() == resolved:
                return
        except OSError:
            continue
    sys.path.insert(0, str(root))
    config.stash[_SYS_PATH_ENTRY] = str(root)


def _source_of(action: Action, fallback: Path) -> tuple[Path, int | None]:
    """The file and 0-based line where the action is defined (``fallback`` when it has none)."""
    code = getattr(inspect.unwrap(action.fn), "__code__", None)
    if code is None:
        return fallback, None
    return Path(code.co_filename), code.co_firstlineno - 1


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
