"""The vocabulary of servey_faas as type aliases."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, Union

if TYPE_CHECKING:
    from servey_faas.triggers import CronTrigger, FixedRateTrigger, WebTrigger

#: A JSON value as produced by :func:`json.loads`.
JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
#: The params of one action call in their JSON form, keyed by parameter name.
Params: TypeAlias = Mapping[str, Any]
#: The function an ``@action`` decorates (sync or async).
ActionFn: TypeAlias = Callable[..., Any]
#: Anything that can cause an action to run.
Trigger: TypeAlias = Union["WebTrigger", "FixedRateTrigger", "CronTrigger"]
