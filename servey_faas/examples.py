"""Examples: documented calls of an action, shown in OpenAPI and run as tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Example:
    """One example call of an action.

    ``params`` maps parameter names to values and ``result`` is the expected return value, both in
    their JSON form (as sent and answered over REST); Python values such as dataclasses, enums or
    datetimes are accepted and marshalled with the action's own types. The pytest plugin of
    :mod:`servey_faas.testing` runs every example whose ``include_in_tests`` is true.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    result: Any = None
    description: str | None = None
    include_in_tests: bool = True
