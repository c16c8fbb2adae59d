"""The ``@action`` decorator and the :class:`Action` metadata it attaches to a function."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, overload

from servey_faas.access_control import AccessControl
from servey_faas.cache_control import CacheControl, CombinedCacheControl
from servey_faas.errors import ActionDefinitionError
from servey_faas.examples import Example
from servey_faas.triggers import CronTrigger, FixedRateTrigger, WebTrigger
from servey_faas.types import ActionFn, Trigger

P = ParamSpec("P")
R = TypeVar("R")

_ATTR = "__servey_action__"
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Action:
    """What ``@action`` knows about a function.

    ``name`` is a Python identifier (the function's name by default); ``timeout`` is in seconds
    and becomes the OpenFaaS function's ``exec_timeout`` (``docs/openfaas.md#watchdog-settings``).
    """

    fn: ActionFn
    name: str
    description: str | None = None
    triggers: tuple[Trigger, ...] = ()
    examples: tuple[Example, ...] = ()
    access_control: AccessControl | None = None
    cache_control: CacheControl | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def is_async(self) -> bool:
        """True for ``async def`` actions."""
        return inspect.iscoroutinefunction(self.fn)

    @property
    def requires_token(self) -> bool:
        """True when the access control answers 401 to calls without a valid bearer token."""
        return self.access_control is not None and self.access_control.requires_token

    @property
    def web_triggers(self) -> tuple[WebTrigger, ...]:
        """The triggers that serve this action over HTTP."""
        return tuple(t for t in self.triggers if isinstance(t, WebTrigger))

    @property
    def location(self) -> str:
        """``module:qualname (file:line)``: where the action is defined, for error messages."""
        fn = inspect.unwrap(self.fn)
        code = getattr(fn, "__code__", None)
        where = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
        return f"{fn.__module__}:{fn.__qualname__}{where}"


@overload
def action(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def action(
    *,
    name: str | None = None,
    description: str | None = None,
    triggers: Iterable[Trigger] = (),
    examples: Iterable[Example] = (),
    access_control: AccessControl | None = None,
    cache_control: CacheControl | Iterable[CacheControl] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def action(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    triggers: Iterable[Trigger] = (),
    examples: Iterable[Example] = (),
    access_control: AccessControl | None = None,
    cache_control: CacheControl | Iterable[CacheControl] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Mark a function as an action; usable bare (``@action``) or with arguments.

    The function is returned unchanged (same object, same signature): it stays a plain callable.
    Its metadata is available through :func:`get_action`. ``description`` defaults to the
    docstring; ``timeout`` is in seconds.

    :raises ActionDefinitionError: for a name that is not a Python identifier, a timeout that is
        not a finite number > 0, or a trigger or example of the wrong type.
    """

    def decorate(f: Callable[P, R]) -> Callable[P, R]:
        if not callable(f):
            raise ActionDefinitionError(f"@action decorates functions, not {f!r}")
        action_name: str = name if name is not None else getattr(f, "__name__", None) or ""
        if not action_name.isidentifier():
            raise ActionDefinitionError(f"action name {action_name!r} must be a Python identifier")
        trigger_tuple = tuple(triggers)
        for t in trigger_tuple:
            if not isinstance(t, (WebTrigger, FixedRateTrigger, CronTrigger)):
                raise ActionDefinitionError(f"action {action_name!r}: {t!r} is not a trigger")
        example_tuple = tuple(examples)
        for e in example_tuple:
            if not isinstance(e, Example):
                raise ActionDefinitionError(f"action {action_name!r}: {e!r} is not an Example")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ActionDefinitionError(f"action {action_name!r}: timeout must be seconds > 0, not {timeout!r}")
        if access_control is not None and not isinstance(access_control, AccessControl):
            raise ActionDefinitionError(f"action {action_name!r}: {access_control!r} is not an access control")
        cache = _cache_control(action_name, cache_control)
        doc = inspect.getdoc(f)
        setattr(
            f,
            _ATTR,
            Action(
                fn=f,
                name=action_name,
                description=description if description is not None else doc,
                triggers=trigger_tuple,
                examples=example_tuple,
                access_control=access_control,
                cache_control=cache,
                timeout=float(timeout),
            ),
        )
        return f

    if fn is not None:
        return decorate(fn)
    return decorate


def _cache_control(action_name: str, value: CacheControl | Iterable[CacheControl] | None) -> CacheControl | None:
    if value is None or isinstance(value, CacheControl):
        return value
    parts = tuple(value)
    if not all(isinstance(p, CacheControl) for p in parts):
        raise ActionDefinitionError(f"action {action_name!r}: cache_control {value!r} holds something that is not one")
    return CombinedCacheControl(parts) if len(parts) != 1 else parts[0]


def get_action(fn: object) -> Action | None:
    """The :class:`Action` of a decorated function (or bound method), or None."""
    found = getattr(fn, _ATTR, None)
    if found is None:
        found = getattr(getattr(fn, "__func__", None), _ATTR, None)
    return found if isinstance(found, Action) else None
