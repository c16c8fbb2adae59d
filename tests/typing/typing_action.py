"""Type-checked only (mypy, in CI): what users see in their editor for decorated actions."""

from __future__ import annotations

from typing import assert_type

from servey_faas import WEB_GET, Action, Example, action, get_action


@action
def bare(x: int, label: str = "n") -> str:
    return f"{label}{x}"


@action(name="configured", triggers=(WEB_GET,), examples=(Example("one", {"x": 1}, 2),), timeout=5)
def with_args(x: int) -> int:
    return x + 1


@action
async def asynchronous(x: int) -> list[int]:
    return [x]


assert_type(bare(1), str)
assert_type(bare(1, label="m"), str)
assert_type(with_args(1), int)
assert_type(get_action(bare), Action | None)


async def use_async() -> None:
    assert_type(await asynchronous(3), list[int])


bare("1")  # type: ignore[arg-type]
bare(1, nope=2)  # type: ignore[call-arg]
with_args()  # type: ignore[call-arg]
