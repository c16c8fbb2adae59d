"""servey_faas.web.bodies.Bodies.renders_at_once: which action results are rendered on the event
loop (small, known types) and which on a thread (big, or of a type that may hold anything)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Any

import pytest

from servey_faas.web.bodies import OFF_LOOP_TEXT, OFF_LOOP_VALUES, Bodies


@dataclasses.dataclass(frozen=True)
class Item:
    sku: str


@dataclasses.dataclass
class Order:
    number: int
    lines: list[Item]
    notes: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Nothing:
    pass


class Color(enum.Enum):
    RED = "red"


def cycle() -> list[Any]:
    looped: list[Any] = []
    looped.append(looped)
    return looped


SMALL: dict[str, Any] = {
    "None": None,
    "a bool": True,
    "an int": 2**64,
    "a float": 1.5,
    "a text": "Hello World!",
    "the longest text": "x" * OFF_LOOP_TEXT,
    "a datetime": datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC),
    "a date": datetime.date(2026, 12, 5),
    "a uuid": uuid.UUID(int=1),
    "a decimal": decimal.Decimal("1.5"),
    "an enum member": Color.RED,
    "a dataclass": Order(1, [Item("a"), Item("b")], {"gift": "yes"}),
    "a dataclass without fields": Nothing(),
    "a list of dataclasses": [Item("a"), Item("b"), Item("c")],
    "the most values": list(range(OFF_LOOP_VALUES - 1)),  # the list itself is one value
    "a tuple, a set, bytes": ((1, 2), {3}, frozenset({4}), b"abc"),
}
BIG: dict[str, Any] = {
    "a long text": "x" * (OFF_LOOP_TEXT + 1),
    "one value too many": list(range(OFF_LOOP_VALUES)),
    "a big list": [Item(str(i)) for i in range(100_000)],
    "a big dict": {str(i): i for i in range(1_000)},
    "small texts adding up": ["x" * 100] * (OFF_LOOP_TEXT // 100 + 1),
    "a big list inside a small one": [Item("a"), {"x": list(range(1_000_000))}],
    "a big list in a dataclass": Order(1, [Item(str(i)) for i in range(1_000)]),
    "long bytes": [b"x" * (OFF_LOOP_TEXT + 1)],
    "an object that may hold anything": object(),
    "a cycle": cycle(),
    "a class": Item,
}


@pytest.mark.parametrize("result", SMALL.values(), ids=SMALL.keys())
def test_small_results_of_known_types_are_rendered_on_the_event_loop(result: Any) -> None:
    assert Bodies.renders_at_once(result) is True


@pytest.mark.parametrize("result", BIG.values(), ids=BIG.keys())
def test_big_results_and_unknown_types_are_rendered_off_the_loop(result: Any) -> None:
    assert Bodies.renders_at_once(result) is False
