"""``Example``: documented calls of an action (servey_faas/examples.py)."""

from __future__ import annotations

import dataclasses

import pytest

from servey_faas import Example


def test_defaults() -> None:
    example = Example(name="empty")
    assert example.params == {}
    assert example.result is None
    assert example.description is None
    assert example.include_in_tests is True


def test_positional_order_is_name_params_result() -> None:
    example = Example("world", {"name": "World"}, "Hello World!", "Greets the world", False)
    assert example == Example(
        name="world",
        params={"name": "World"},
        result="Hello World!",
        description="Greets the world",
        include_in_tests=False,
    )


def test_default_params_are_not_shared_between_examples() -> None:
    assert Example(name="a").params is not Example(name="b").params


def test_examples_are_frozen() -> None:
    example = Example(name="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.name = "y"  # type: ignore[misc]
