"""``@action`` and the :class:`Action` metadata (servey_faas/action.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from servey_faas import (
    WEB_GET,
    WEB_POST,
    Action,
    CronTrigger,
    Example,
    FixedRateTrigger,
    action,
    get_action,
)
from servey_faas.action import DEFAULT_TIMEOUT
from servey_faas.errors import ActionDefinitionError, ConfigurationError, ServeyFaasError


def _fresh() -> Callable[[], None]:
    """A new undecorated function on every call (a lambda is named ``<lambda>``, not an identifier)."""

    def noop() -> None:
        pass

    return noop


def test_bare_decorator_returns_the_same_function_and_keeps_it_callable() -> None:
    def add(a: int, b: int = 2) -> int:
        """Add two numbers.

        The second one defaults to 2.
        """
        return a + b

    decorated = action(add)

    assert decorated is add
    assert decorated(1) == 3
    assert decorated(1, b=5) == 6
    found = get_action(add)
    assert isinstance(found, Action)
    assert found.fn is add
    assert found.name == "add"
    assert found.description == "Add two numbers.\n\nThe second one defaults to 2."
    assert found.triggers == ()
    assert found.examples == ()
    assert found.timeout == DEFAULT_TIMEOUT
    assert found.access_control is None and found.cache_control is None


def test_decorator_with_arguments_returns_the_same_function() -> None:
    example = Example(name="one", params={"a": 1}, result=3)
    cron = CronTrigger("@hourly")

    def add(a: int) -> int:
        """Docstring that is overridden."""
        return a + 2

    decorated = action(
        name="plus_two",
        description="Adds two.",
        triggers=[WEB_GET, cron],
        examples=[example],
        timeout=5,
    )(add)

    assert decorated is add
    assert decorated(1) == 3
    found = get_action(add)
    assert found is not None
    assert found.name == "plus_two"
    assert found.description == "Adds two."
    assert found.triggers == (WEB_GET, cron)  # any iterable becomes a tuple
    assert found.examples == (example,)
    assert found.timeout == 5.0 and isinstance(found.timeout, float)


def test_empty_call_form_is_the_same_as_bare() -> None:
    @action()
    def ping() -> str:
        return "pong"

    assert ping() == "pong"
    assert get_action(ping) == Action(fn=ping, name="ping")


def test_description_is_none_without_docstring() -> None:
    @action
    def nodoc() -> None:
        pass

    found = get_action(nodoc)
    assert found is not None and found.description is None


def test_empty_description_overrides_the_docstring() -> None:
    @action(description="")
    def documented() -> None:
        """Docs."""

    found = get_action(documented)
    assert found is not None and found.description == ""


def test_async_function_stays_a_coroutine_function() -> None:
    async def fetch() -> int:
        return 1

    assert action(fetch) is fetch
    found = get_action(fetch)
    assert found is not None and found.is_async
    sync_found = get_action(action(_fresh()))
    assert sync_found is not None and not sync_found.is_async


def test_web_triggers_filters_out_schedules() -> None:
    @action(triggers=(FixedRateTrigger(10), WEB_GET, CronTrigger("@daily"), WEB_POST))
    def both() -> None:
        pass

    found = get_action(both)
    assert found is not None
    assert found.web_triggers == (WEB_GET, WEB_POST)


def test_location_names_module_qualname_file_and_line() -> None:
    @action
    def here() -> None:
        pass

    found = get_action(here)
    assert found is not None
    assert found.location.startswith(f"{__name__}:test_location_names_module_qualname_file_and_line.<locals>.here (")
    assert f"{__file__}:{here.__code__.co_firstlineno})" in found.location


@pytest.mark.parametrize("name", ["say-hello", "1st", "with space", "dotted.name"])
def test_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(ActionDefinitionError, match="must be a Python identifier"):
        action(name=name)(_fresh())


@pytest.mark.parametrize("timeout", [0, -1, -0.5, True, "30", None, float("nan"), float("inf")])
def test_timeout_must_be_positive_seconds(timeout: object) -> None:
    def fn() -> None:
        pass

    with pytest.raises(ActionDefinitionError, match="timeout must be seconds > 0"):
        action(timeout=timeout)(fn)  # type: ignore[call-overload]
    assert get_action(fn) is None  # nothing is attached to a rejected function


@pytest.mark.parametrize("trigger", ["GET", ("GET", "/x"), 10, None])
def test_triggers_must_be_triggers(trigger: object) -> None:
    with pytest.raises(ActionDefinitionError, match="is not a trigger"):
        action(triggers=(trigger,))(_fresh())  # type: ignore[arg-type]


@pytest.mark.parametrize("example", [{"name": "x", "params": {}}, "x", None])
def test_examples_must_be_examples(example: object) -> None:
    with pytest.raises(ActionDefinitionError, match="is not an Example"):
        action(examples=(example,))(_fresh())  # type: ignore[arg-type]


def test_only_callables_can_be_decorated() -> None:
    with pytest.raises(ActionDefinitionError, match="decorates functions"):
        action(42)  # type: ignore[call-overload]


def test_callable_without_a_name_needs_one() -> None:
    class Callable_:
        def __call__(self) -> int:
            return 1

    with pytest.raises(ActionDefinitionError, match="action name '' must be a Python identifier"):
        action(Callable_())


def test_definition_errors_are_configuration_errors() -> None:
    assert issubclass(ActionDefinitionError, ConfigurationError)
    assert issubclass(ActionDefinitionError, ServeyFaasError)


def test_get_action_on_non_actions_is_none() -> None:
    def plain() -> None:
        pass

    assert get_action(plain) is None
    assert get_action(None) is None
    assert get_action(42) is None
    assert get_action("say_hello") is None
    assert get_action(print) is None


def test_get_action_ignores_a_foreign_attribute_of_the_same_name() -> None:
    def spoofed() -> None:
        pass

    spoofed.__servey_action__ = {"name": "spoofed"}  # type: ignore[attr-defined]
    assert get_action(spoofed) is None


def test_get_action_on_bound_methods() -> None:
    class Greeter:
        @action
        def greet(self, name: str) -> str:
            """Greet."""
            return f"hi {name}"

    greeter = Greeter()
    found = get_action(greeter.greet)
    assert found is not None
    assert found is get_action(Greeter.greet)
    assert found.name == "greet"
    assert greeter.greet("ada") == "hi ada"


def test_action_metadata_is_frozen() -> None:
    found = get_action(action(_fresh()))
    assert found is not None
    with pytest.raises(AttributeError):
        found.name = "other"  # type: ignore[misc]


def test_an_empty_name_is_rejected_not_replaced() -> None:
    with pytest.raises(ActionDefinitionError, match="identifier"):

        @action(name="")
        def f() -> None: ...
