"""The one invocation path: JSON params → validate → load → call → dump (servey_faas/invocation.py)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime
import enum
import json
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from servey_faas import Authorization, Example, action, get_action
from servey_faas.action import Action
from servey_faas.discovery import find_actions
from servey_faas.errors import ActionDefinitionError, ActionTimeoutError, FieldError, ValidationError
from servey_faas.invocation import ActionInvoker, build_invokers
from servey_faas.schemas import TypeCodec

REPO_ROOT = Path(__file__).resolve().parents[1]


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int = 1
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Order:
    customer: str
    lines: list[Line]
    size: Size = Size.SMALL
    deliver_on: datetime.date | None = None


@dataclass(frozen=True)
class Receipt:
    id: uuid.UUID
    at: datetime.datetime
    lines: int


@pytest.fixture(scope="module")
def codec() -> TypeCodec:
    return TypeCodec()


def invoker_of(fn: Callable[..., Any], codec: TypeCodec) -> ActionInvoker:
    found = get_action(fn) or get_action(action(fn))
    assert found is not None
    return ActionInvoker(found, codec)


def place(order: Order, day: datetime.date, copies: int = 1, note: str | None = None) -> Receipt:
    return Receipt(
        id=uuid.UUID(int=copies),
        at=datetime.datetime.combine(day, datetime.time(12)),
        lines=sum(line.quantity for line in order.lines) * copies,
    )


ORDER = {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2}, {"sku": "cup"}]}


@pytest.fixture(scope="module")
def placer(codec: TypeCodec) -> ActionInvoker:
    return invoker_of(action(place), codec)


# --- schemas and loading ------------------------------------------------------------------------


def test_params_schema(placer: ActionInvoker) -> None:
    schema = placer.params_schema
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["order", "day"]
    assert list(schema["properties"]) == ["order", "day", "copies", "note"]
    assert schema["properties"]["copies"] == {"type": "integer", "default": 1}
    assert schema["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert [(p.name, p.required, p.default) for p in placer.params] == [
        ("order", True, None),
        ("day", True, None),
        ("copies", False, 1),
        ("note", False, None),
    ]
    assert placer.result_schema["name"] == "Receipt"
    assert placer.name == "place"


def test_defaults_in_the_schema_are_json(codec: TypeCodec) -> None:
    def with_defaults(
        size: Size = Size.LARGE, day: datetime.date = datetime.date(2026, 1, 2), tags: tuple[str, ...] = ("a",)
    ) -> None:
        pass

    props = invoker_of(with_defaults, codec).params_schema["properties"]
    assert props["size"]["default"] == "LARGE"
    assert props["day"]["default"] == "2026-01-02"
    assert props["tags"]["default"] == ["a"]


def test_invoke_sync_loads_params_calls_and_dumps_the_result(placer: ActionInvoker) -> None:
    result = placer.invoke_sync({"order": ORDER, "day": "2026-03-04", "copies": 2})
    assert result == {"id": "00000000-0000-0000-0000-000000000002", "at": "2026-03-04T12:00:00", "lines": 6}


def test_load_params_gives_typed_values_and_leaves_defaults_to_the_function(placer: ActionInvoker) -> None:
    kwargs = placer.load_params({"order": ORDER, "day": "2026-03-04"})
    assert kwargs == {
        "order": Order("ada", [Line("tea", 2), Line("cup", 1)], Size.SMALL, None),
        "day": datetime.date(2026, 3, 4),
    }


def test_defaults_are_applied(codec: TypeCodec) -> None:
    def greet(name: str = "World", punctuation: str = "!", times: int = 1) -> str:
        return f"Hello {name}{punctuation}" * times

    invoker = invoker_of(greet, codec)
    assert invoker.invoke_sync({}) == "Hello World!"
    assert invoker.invoke_sync({"times": 2, "punctuation": "?"}) == "Hello World?Hello World?"


def test_integral_json_number_reaches_an_int_parameter_as_int(codec: TypeCodec) -> None:
    def repeat(text: str, times: int) -> str:
        return text * times  # TypeError for a float

    invoker = invoker_of(repeat, codec)
    assert invoker.load_params({"text": "ab", "times": 2.0}) == {"text": "ab", "times": 2}
    assert type(invoker.load_params({"text": "ab", "times": 2.0})["times"]) is int
    assert invoker.invoke_sync({"text": "ab", "times": 2.0}) == "abab"


def test_float_parameter_gets_a_float_for_an_integer(codec: TypeCodec) -> None:
    def half(x: float) -> float:
        return x / 2

    invoker = invoker_of(half, codec)
    loaded = invoker.load_params({"x": 3})["x"]
    assert loaded == 3.0 and type(loaded) is float
    assert invoker.invoke_sync({"x": 3}) == 1.5


def test_any_and_dict_params_pass_json_through(codec: TypeCodec) -> None:
    def echo(value: Any, mapping: dict[str, int]) -> dict[str, Any]:
        return {"value": value, "mapping": mapping}

    invoker = invoker_of(echo, codec)
    params = {"value": [1, {"a": None}], "mapping": {"x": 1}}
    assert invoker.invoke_sync(params) == params


def test_none_result(codec: TypeCodec) -> None:
    def nothing() -> None:
        pass

    invoker = invoker_of(nothing, codec)
    assert invoker.result_schema == {"type": "null"}
    assert invoker.invoke_sync({}) is None


# --- validation errors --------------------------------------------------------------------------


def _errors(invoker: ActionInvoker, params: Any) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        invoker.load_params(params)
    return list(info.value.errors)


def test_missing_fields(placer: ActionInvoker) -> None:
    assert _errors(placer, {}) == [FieldError(("order",), "field required"), FieldError(("day",), "field required")]


def test_missing_nested_field_is_located_in_the_list(placer: ActionInvoker) -> None:
    order = {"customer": "ada", "lines": [{"sku": "a"}, {"quantity": 1}]}
    assert _errors(placer, {"order": order, "day": "2026-01-01"}) == [
        FieldError(("order", "lines", 1, "sku"), "field required")
    ]


def test_wrong_type(placer: ActionInvoker) -> None:
    assert _errors(placer, {"order": ORDER, "day": "2026-01-01", "copies": "two"}) == [
        FieldError(("copies",), "'two' is not of type 'integer'")
    ]


@pytest.mark.parametrize("copies", [True, 1.5, [1], {"n": 1}])
def test_wrong_json_types_for_an_integer(placer: ActionInvoker, copies: Any) -> None:
    [error] = _errors(placer, {"order": ORDER, "day": "2026-01-01", "copies": copies})
    assert error.location == ("copies",)
    assert "is not of type 'integer'" in error.message


def test_unexpected_fields_top_level_and_nested(placer: ActionInvoker) -> None:
    order = {**ORDER, "coupon": "X"}
    errors = _errors(placer, {"order": order, "day": "2026-01-01", "zzz": 1, "aaa": 2})
    assert sorted(errors, key=str) == [
        FieldError(("aaa",), "unexpected field"),
        FieldError(("order", "coupon"), "unexpected field"),
        FieldError(("zzz",), "unexpected field"),
    ]


def test_nested_list_index_paths(placer: ActionInvoker) -> None:
    order = {"customer": "ada", "lines": [{"sku": "a"}, {"sku": "b", "tags": ["ok", 7]}]}
    assert _errors(placer, {"order": order, "day": "2026-01-01"}) == [
        FieldError(("order", "lines", 1, "tags", 1), "7 is not of type 'string'")
    ]


def test_bad_enum(placer: ActionInvoker) -> None:
    order = {**ORDER, "size": "HUGE"}
    assert _errors(placer, {"order": order, "day": "2026-01-01"}) == [
        FieldError(("order", "size"), "'HUGE' is not one of ['SMALL', 'LARGE']")
    ]


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "01/02/2026", "tomorrow", ""])
def test_bad_date_format(placer: ActionInvoker, day: str) -> None:
    assert _errors(placer, {"order": ORDER, "day": day}) == [FieldError(("day",), f"{day!r} is not a 'date'")]


def test_bad_optional_date_inside_a_dataclass(placer: ActionInvoker) -> None:
    order = {**ORDER, "deliver_on": "soon"}
    [error] = _errors(placer, {"order": order, "day": "2026-01-01"})
    assert error.location == ("order", "deliver_on")
    assert "'soon' is not a 'date'" in error.message


def test_null_for_a_non_optional_param(placer: ActionInvoker) -> None:
    assert _errors(placer, {"order": None, "day": "2026-01-01"}) == [FieldError(("order",), "must not be null")]
    assert _errors(placer, {"order": ORDER, "day": "2026-01-01", "copies": None}) == [
        FieldError(("copies",), "must not be null")
    ]
    assert _errors(placer, {"order": {**ORDER, "customer": None}, "day": "2026-01-01"}) == [
        FieldError(("order", "customer"), "must not be null")
    ]


def test_null_for_an_optional_param_is_fine(placer: ActionInvoker) -> None:
    assert placer.load_params({"order": ORDER, "day": "2026-01-01", "note": None})["note"] is None


def test_wrong_type_for_an_optional_param_explains_the_non_null_branch(placer: ActionInvoker) -> None:
    assert _errors(placer, {"order": ORDER, "day": "2026-01-01", "note": 5}) == [
        FieldError(("note",), "5 is not of type 'string'")
    ]


def test_several_errors_are_all_reported(placer: ActionInvoker) -> None:
    errors = _errors(placer, {"order": {"customer": 1, "lines": "x"}, "copies": "y"})
    assert {e.location for e in errors} == {("day",), ("order", "customer"), ("order", "lines"), ("copies",)}


def test_params_that_are_not_an_object(placer: ActionInvoker) -> None:
    [error] = _errors(placer, [1, 2])
    assert error.location == ()
    assert "is not of type 'object'" in error.message


def test_validation_error_message_lists_fields(placer: ActionInvoker) -> None:
    with pytest.raises(ValidationError, match=r"^order: field required; day: field required$"):
        placer.invoke_sync({})


# --- calling: threads and event loops -----------------------------------------------------------


@pytest.mark.anyio
async def test_sync_action_runs_in_a_worker_thread_under_invoke(codec: TypeCodec) -> None:
    seen: list[int] = []

    def where() -> int:
        seen.append(threading.get_ident())
        return len(seen)

    assert await invoker_of(where, codec).invoke({}) == 1
    assert seen[0] != threading.get_ident()  # not on the event loop's thread


@pytest.mark.anyio
async def test_slow_sync_action_does_not_block_the_event_loop(codec: TypeCodec) -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        assert release.wait(timeout=30)
        return "done"

    task = asyncio.ensure_future(invoker_of(slow, codec).invoke({}))
    # The loop keeps serving while the action waits in its thread: this await completes.
    assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
    assert not task.done()
    release.set()
    assert await task == "done"


@pytest.mark.anyio
async def test_async_action_is_awaited_by_invoke_on_the_loop(codec: TypeCodec) -> None:
    seen: list[int] = []

    async def later(x: int) -> list[int]:
        await asyncio.sleep(0)
        seen.append(threading.get_ident())
        return [x, x]

    assert await invoker_of(later, codec).invoke({"x": 2}) == [2, 2]
    assert seen == [threading.get_ident()]


def test_async_action_is_awaited_by_invoke_sync(codec: TypeCodec) -> None:
    async def later(x: int) -> Receipt:
        await asyncio.sleep(0)
        return Receipt(uuid.UUID(int=x), datetime.datetime(2026, 1, 1), x)

    assert invoker_of(later, codec).invoke_sync({"x": 3}) == {
        "id": "00000000-0000-0000-0000-000000000003",
        "at": "2026-01-01T00:00:00",
        "lines": 3,
    }


def test_sync_action_under_invoke_sync_runs_in_the_callers_thread(codec: TypeCodec) -> None:
    seen: list[int] = []

    def here() -> bool:
        seen.append(threading.get_ident())
        return True

    assert invoker_of(here, codec).invoke_sync({}) is True
    assert seen == [threading.get_ident()]


@pytest.mark.anyio
async def test_exceptions_of_the_action_propagate(codec: TypeCodec) -> None:
    def boom() -> None:
        raise KeyError("inside")

    async def aboom() -> None:
        raise LookupError("inside async")

    with pytest.raises(KeyError, match="inside"):
        await invoker_of(boom, codec).invoke({})
    with pytest.raises(KeyError, match="inside"):
        invoker_of(boom, codec).invoke_sync({})
    with pytest.raises(LookupError, match="inside async"):
        await invoker_of(aboom, codec).invoke({})


@pytest.mark.anyio
async def test_invalid_params_never_call_the_action(codec: TypeCodec) -> None:
    calls: list[int] = []

    def count(n: int) -> int:
        calls.append(n)
        return n

    with pytest.raises(ValidationError):
        await invoker_of(count, codec).invoke({"n": "x"})
    assert calls == []


# --- timeouts --------------------------------------------------------------------------------------


def timed(fn: Callable[..., Any], codec: TypeCodec, timeout: float) -> ActionInvoker:
    found = get_action(action(timeout=timeout)(fn))
    assert found is not None
    return ActionInvoker(found, codec)


@pytest.mark.anyio
async def test_an_async_action_past_its_timeout_is_cancelled(codec: TypeCodec) -> None:
    seen: list[str] = []

    async def forever() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "never"

    with pytest.raises(ActionTimeoutError, match=r"action 'forever' did not finish within its timeout of 0\.05 s"):
        await timed(forever, codec, 0.05).invoke({})
    assert seen == ["cancelled"]
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the timeout's own cancel was taken back


@pytest.mark.anyio
async def test_a_sync_action_past_its_timeout_is_left_to_finish(codec: TypeCodec) -> None:
    release, finished = threading.Event(), threading.Event()

    def stuck() -> str:
        assert release.wait(30)
        finished.set()
        return "late"

    invoker = timed(stuck, codec, 0.05)
    with pytest.raises(ActionTimeoutError, match="'stuck'"):
        await invoker.invoke({})
    assert invoker.threads.abandoned == 1
    release.set()
    assert await asyncio.to_thread(finished.wait, 30)


@pytest.mark.anyio
async def test_an_action_that_swallows_the_timeout_returns_and_the_cancel_is_taken_back(codec: TypeCodec) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        return "anyway"

    assert await timed(stubborn, codec, 0.05).invoke({}) == "anyway"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


@pytest.mark.anyio
async def test_a_cancel_from_outside_stays_a_cancel(codec: TypeCodec) -> None:
    started = asyncio.Event()

    async def forever() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    call = asyncio.ensure_future(timed(forever, codec, 30).invoke({}))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


@pytest.mark.anyio
async def test_an_action_s_own_timeout_error_is_not_a_timeout_of_the_action(codec: TypeCodec) -> None:
    async def times_out_inside() -> str:
        await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        return "never"

    with pytest.raises(TimeoutError) as raised:
        await timed(times_out_inside, codec, 30).invoke({})
    assert not isinstance(raised.value, ActionTimeoutError)


# --- validation without the validator for plain params --------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"s": "x", "i": 1, "f": 1.5, "b": True}, {"s": "", "i": -(10**30), "f": 2, "b": False, "o": "y"}],
)
def test_plain_params_of_their_exact_types_are_valid_at_once(codec: TypeCodec, params: dict[str, Any]) -> None:
    def plain(s: str, i: int, f: float, b: bool, o: str = "z") -> str:
        return f"{s}{i}{f}{b}{o}"

    invoker = invoker_of(plain, codec)
    assert invoker._surely_valid(params)
    assert list(invoker._validator.iter_errors(params)) == []  # what the validator says too


@pytest.mark.parametrize(
    "params",
    [
        {"i": 1, "f": 1.5, "b": True},  # s missing
        {"s": "x", "i": 1, "f": 1.5, "b": True, "extra": 1},
        {"s": "x", "i": True, "f": 1.5, "b": True},  # a bool is no integer
        {"s": "x", "i": 2.0, "f": 1.5, "b": True},  # valid (2.0 is an integer), left to the validator
        {"s": None, "i": 1, "f": 1.5, "b": True},
        {"s": "x", "i": 1, "f": "1.5", "b": True},
    ],
)
def test_anything_else_is_left_to_the_validator(codec: TypeCodec, params: dict[str, Any]) -> None:
    def plain(s: str, i: int, f: float, b: bool) -> str:
        return f"{s}{i}{f}{b}"

    assert not invoker_of(plain, codec)._surely_valid(params)


def test_params_with_constraints_are_checked_by_the_compiled_schema(codec: TypeCodec, placer: ActionInvoker) -> None:
    def pick(size: Size, day: datetime.date) -> str:
        return f"{size}{day}"

    picker = invoker_of(pick, codec)
    assert picker._surely_valid({"size": "SMALL", "day": "2026-01-01"})
    for invalid in ({"size": "HUGE", "day": "2026-01-01"}, {"size": "SMALL", "day": "2026-13-01"}, {"size": "SMALL"}):
        assert not picker._surely_valid(invalid)  # the validator is asked, and names the field
        with pytest.raises(ValidationError):
            picker.load_params(invalid)
    assert not placer._surely_valid({})


# --- definition errors --------------------------------------------------------------------------


def test_parameter_without_annotation(codec: TypeCodec) -> None:
    def untyped(x, y: int) -> int:  # type: ignore[no-untyped-def]
        return y

    with pytest.raises(ActionDefinitionError, match="action 'untyped': parameter 'x' needs a type annotation"):
        invoker_of(untyped, codec)


def test_return_without_annotation(codec: TypeCodec) -> None:
    def no_return(x: int):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ActionDefinitionError, match="the return value needs a type annotation"):
        invoker_of(no_return, codec)


def test_var_positional_and_var_keyword(codec: TypeCodec) -> None:
    def star(*args: int) -> int:
        return 0

    def double_star(**kwargs: int) -> int:
        return 0

    with pytest.raises(ActionDefinitionError, match=r"\*args and \*\*kwargs are not supported"):
        invoker_of(star, codec)
    with pytest.raises(ActionDefinitionError, match=r"\*args and \*\*kwargs are not supported"):
        invoker_of(double_star, codec)


def test_type_without_json_form(codec: TypeCodec) -> None:
    def raw(data: bytes) -> int:
        return len(data)

    def raw_result() -> bytes:
        return b""

    with pytest.raises(
        ActionDefinitionError, match=r"action 'raw': parameter 'data' of type .*bytes.* has no JSON form"
    ):
        invoker_of(raw, codec)
    with pytest.raises(ActionDefinitionError, match=r"return value of type .*bytes.* has no JSON form"):
        invoker_of(raw_result, codec)


def test_unresolvable_annotation(codec: TypeCodec) -> None:
    def forward(x: NoSuchType) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 0

    with pytest.raises(ActionDefinitionError, match="action 'forward': cannot resolve type hints"):
        invoker_of(forward, codec)


def test_example_with_unknown_params(codec: TypeCodec) -> None:
    @action(examples=(Example(name="typo", params={"nmae": "x", "name": "y", "zz": 1}, result="y"),))
    def hello(name: str) -> str:
        return name

    with pytest.raises(ActionDefinitionError, match="example 'typo' names unknown params nmae, zz"):
        invoker_of(hello, codec)


def test_invalid_example(codec: TypeCodec) -> None:
    @action(examples=(Example(name="bad", params={"order": {"customer": "ada"}, "day": "2026-99-01"}),))
    def check(order: Order, day: datetime.date) -> None:
        pass

    with pytest.raises(ActionDefinitionError, match=r"example 'bad' is invalid: .*order.lines: field required") as info:
        invoker_of(check, codec)
    assert "day: '2026-99-01' is not a 'date'" in str(info.value)


def test_example_missing_a_required_param_is_invalid(codec: TypeCodec) -> None:
    @action(examples=(Example(name="empty", params={}),))
    def needs(x: int) -> int:
        return x

    with pytest.raises(ActionDefinitionError, match="example 'empty' is invalid: x: field required"):
        invoker_of(needs, codec)


def test_an_example_result_that_does_not_match_the_return_type_is_refused(codec: TypeCodec) -> None:
    @action(examples=(Example(name="wrong", params={"x": 1}, result={"total": "one"}),))
    def total(x: int) -> dict[str, int]:
        return {"total": x}

    with pytest.raises(
        ActionDefinitionError,
        match=r"action 'total': the result of example 'wrong' does not match the return type: total: 'one' is not",
    ):
        invoker_of(total, codec)


def test_an_example_without_a_result_is_not_checked_against_the_return_type(codec: TypeCodec) -> None:
    @action(examples=(Example(name="no result", params={"x": 1}, include_in_tests=False),))
    def double(x: int) -> int:
        return 2 * x

    assert invoker_of(double, codec).action.examples[0].result is None


def test_examples_may_use_python_values(codec: TypeCodec) -> None:
    order = Order("ada", [Line("tea", 2)], Size.LARGE)
    receipt = Receipt(uuid.UUID(int=1), datetime.datetime(2026, 1, 1, 12), 2)

    @action(examples=(Example(name="py", params={"order": order, "day": datetime.date(2026, 1, 1)}, result=receipt),))
    def py_values(order: Order, day: datetime.date) -> Receipt:
        return receipt

    invoker = invoker_of(py_values, codec)
    example = py_values.__servey_action__.examples[0]  # type: ignore[attr-defined]
    params = invoker.example_params(example.params)
    assert params == {
        "order": {
            "customer": "ada",
            "lines": [{"sku": "tea", "quantity": 2, "tags": []}],
            "size": "LARGE",
            "deliver_on": None,
        },
        "day": "2026-01-01",
    }
    assert invoker.invoke_sync(params) == invoker.example_result(example.result)
    assert invoker.example_result(example.result) == {
        "id": "00000000-0000-0000-0000-000000000001",
        "at": "2026-01-01T12:00:00",
        "lines": 2,
    }
    assert invoker.example_result({"already": "json"}) == {"already": "json"}


# --- build_invokers -----------------------------------------------------------------------------


def test_build_invokers_one_per_action_sharing_one_codec() -> None:
    def a() -> int:
        return 1

    def b() -> int:
        return 2

    actions = [get_action(action(a)), get_action(action(name="bee")(b))]
    invokers = build_invokers([x for x in actions if x is not None])
    assert list(invokers) == ["a", "bee"]
    assert invokers["a"].codec is invokers["bee"].codec
    assert invokers["bee"].invoke_sync({}) == 2


def test_errors_inside_an_optional_dataclass_read_like_any_other(codec: TypeCodec) -> None:
    def maybe(line: Line | None = None) -> None:
        pass

    invoker = invoker_of(maybe, codec)
    assert _errors(invoker, {"line": {"quantity": 1}}) == [FieldError(("line", "sku"), "field required")]
    assert _errors(invoker, {"line": {"sku": "a", "colour": "red"}}) == [
        FieldError(("line", "colour"), "unexpected field")
    ]
    assert _errors(invoker, {"line": {"sku": None}}) == [FieldError(("line", "sku"), "must not be null")]
    assert _errors(invoker, {"line": {"sku": "a", "tags": [1]}}) == [
        FieldError(("line", "tags", 0), "1 is not of type 'string'")
    ]


def test_a_bare_date_is_not_a_date_time() -> None:
    @action
    def when(at: datetime.datetime) -> str:
        return at.isoformat()

    invoker = ActionInvoker(get_action(when), TypeCodec())  # type: ignore[arg-type]

    with pytest.raises(ValidationError) as caught:
        invoker.invoke_sync({"at": "2026-01-01"})
    assert caught.value.errors[0].location == ("at",)
    assert invoker.invoke_sync({"at": "2026-01-01T10:00:00+00:00"}) == "2026-01-01T10:00:00+00:00"


# --- invokers from precomputed schemas ----------------------------------------------------------


class RecordingCodec(TypeCodec):
    """A codec that records which of its methods were called (``validator`` is static: not recorded)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def schema(self, type_: Any, path: str = "#") -> dict[str, Any]:
        self.calls.append("schema")
        return super().schema(type_, path)

    def load(self, type_: Any, value: Any) -> Any:
        self.calls.append("load")
        return super().load(type_, value)

    def dump(self, value: Any, type_: Any = None) -> Any:
        self.calls.append("dump")
        return super().dump(value, type_)

    def check(self, type_: Any) -> None:
        self.calls.append("check")
        super().check(type_)


@pytest.fixture(scope="module")
def demo_actions() -> dict[str, Action]:
    """The repository's demo actions (``actions/``)."""
    entry = str(REPO_ROOT)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        return dict(find_actions("actions"))
    finally:
        if added:
            sys.path.remove(entry)


def as_written(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` after a trip through a file as the packager writes it (sorted keys)."""
    loaded: dict[str, Any] = json.loads(json.dumps(document, sort_keys=True, indent=2))
    return loaded


def bad_params(invoker: ActionInvoker) -> list[dict[str, Any]]:
    """Params that fail validation in different ways (missing, unexpected, wrong types, nested), or
    may pass for some types (null for an optional param, any JSON for ``Any``)."""
    cases: list[dict[str, Any]] = [{}, {"not_a_param": 1}]
    for p in invoker.params:
        for wrong in ([[]], None, {"nested": {"deeper": [1]}}, "text", 1.5):
            cases.append({p.name: wrong})
    return cases


def test_every_demo_action_is_the_same_from_its_schema_document(demo_actions: dict[str, Action]) -> None:
    """Built from its own document (through JSON), an invoker has the same schemas and params, gives
    the same results and the same field errors as the one that generated them."""
    assert {"say_hello", "quote_order", "get_order_line", "cancel_order"} <= set(demo_actions)
    for name, found in demo_actions.items():
        computed = ActionInvoker(found, TypeCodec())
        codec = RecordingCodec()
        precomputed = ActionInvoker(found, codec, schemas=as_written(computed.schema_document))
        assert codec.calls == [], name
        assert precomputed.params_schema == computed.params_schema, name
        assert precomputed.result_schema == computed.result_schema, name
        assert precomputed.params == computed.params, name
        assert precomputed.schema_document == computed.schema_document, name
        assert found.examples, name
        for example in found.examples:
            params = computed.example_params(example.params)
            assert precomputed.invoke_sync(params) == computed.invoke_sync(params), (name, example.name)
        outcomes = [(outcome(computed, p), outcome(precomputed, p)) for p in bad_params(computed)]
        assert all(expected == actual for expected, actual in outcomes), name
        assert sum(expected[0] == "invalid" for expected, _ in outcomes) >= 2, name


def outcome(invoker: ActionInvoker, params: dict[str, Any]) -> tuple[str, Any]:
    """``("ok", result)`` or ``("invalid", field errors)``."""
    try:
        return "ok", invoker.invoke_sync(params)
    except ValidationError as e:
        return "invalid", e.errors


def test_a_str_action_from_its_document_never_uses_the_codec(demo_actions: dict[str, Action]) -> None:
    say_hello = demo_actions["say_hello"]
    document = ActionInvoker(say_hello, TypeCodec()).schema_document
    codec = RecordingCodec()
    invoker = ActionInvoker(say_hello, codec, schemas=document)
    assert invoker.invoke_sync({"name": "Ada"}) == "Hello Ada!"
    with pytest.raises(ValidationError):
        invoker.invoke_sync({"name": 1})
    assert codec.calls == []


def test_dataclass_params_from_the_document_are_loaded_on_first_call(demo_actions: dict[str, Action]) -> None:
    quote_order = demo_actions["quote_order"]
    document = ActionInvoker(quote_order, TypeCodec()).schema_document
    codec = RecordingCodec()
    invoker = ActionInvoker(quote_order, codec, schemas=document)
    assert codec.calls == []
    result = invoker.invoke_sync({"order": {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2}]}})
    assert result["item_count"] == 2 and result["currency"] == "EUR"
    assert codec.calls == ["load", "dump"]


def test_the_schema_document_is_a_copy() -> None:
    def greet(name: str = "you") -> str:
        return f"hi {name}"

    invoker = invoker_of(greet, TypeCodec())
    document = invoker.schema_document
    assert document == {
        "params": {
            "type": "object",
            "properties": {"name": {"type": "string", "default": "you"}},
            "required": [],
            "additionalProperties": False,
        },
        "result": {"type": "string"},
    }
    document["params"]["properties"]["name"]["type"] = "integer"
    assert invoker.params_schema["properties"]["name"] == {"type": "string", "default": "you"}
    again = ActionInvoker(invoker.action, TypeCodec(), schemas=invoker.schema_document)
    assert again.params[0].default == "you" and again.invoke_sync({}) == "hi you"


def test_the_document_is_copied_when_the_invoker_is_built() -> None:
    def echo(text: str) -> str:
        return text

    computed = invoker_of(echo, TypeCodec())
    document = computed.schema_document
    invoker = ActionInvoker(computed.action, TypeCodec(), schemas=document)
    document["params"]["properties"]["text"]["type"] = "integer"
    assert invoker.invoke_sync({"text": "x"}) == "x"


def test_examples_are_not_checked_again_with_a_document() -> None:
    """The build checked them; an invoker from the document does not run them at start-up."""

    def double(n: int) -> int:
        return 2 * n

    found = get_action(action(examples=(Example(name="two", params={"n": 2}, result=4),))(double))
    assert found is not None
    document = ActionInvoker(found, TypeCodec()).schema_document
    broken = dataclasses.replace(found, examples=(Example(name="bad", params={"m": 1}, result=0),))
    with pytest.raises(ActionDefinitionError, match="unknown params"):
        ActionInvoker(broken, TypeCodec())
    assert ActionInvoker(broken, TypeCodec(), schemas=document).invoke_sync({"n": 3}) == 6


def test_the_authorization_param_stays_out_of_the_document() -> None:
    def whoami(auth: Authorization, greeting: str = "hi") -> str:
        return f"{greeting} {auth.subject_id}"

    computed = invoker_of(whoami, TypeCodec())
    assert set(computed.schema_document["params"]["properties"]) == {"greeting"}
    invoker = ActionInvoker(computed.action, TypeCodec(), schemas=as_written(computed.schema_document))
    assert invoker.authorization_param == "auth" and invoker.requires_token
    assert invoker.invoke_sync({}, Authorization(subject_id="ann")) == "hi ann"


def _stale(document: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    change(changed)
    return changed


def _place_document() -> dict[str, Any]:
    return invoker_of(place, TypeCodec()).schema_document


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["params"]["properties"].pop("note"), r"params \(copies, day, order\) in the schemas"),
        (
            lambda d: d["params"]["properties"].update(extra={"type": "string"}),
            r"params \(copies, day, extra, note, order\) in the schemas, \(copies, day, note, order\)",
        ),
        (
            lambda d: d["params"].update(required=["order"]),
            r"required params \(order\) in the schemas, \(day, order\) in the signature",
        ),
        (lambda d: d["params"].update(required=["order", "day", "copies"]), r"required params \(copies, day, order\)"),
        (lambda d: d.pop("result"), "they need a params and a result schema"),
        (lambda d: d.update(params=[]), "they need a params and a result schema"),
        (lambda d: d["params"].update(type="array"), "not an object schema with properties and required"),
        (lambda d: d["params"].pop("required"), "not an object schema with properties and required"),
        (lambda d: d["params"]["properties"].update(order=1), "not an object schema with properties and required"),
    ],
)
def test_a_stale_or_malformed_document_is_refused(change: Callable[[dict[str, Any]], object], says: str) -> None:
    found = get_action(place) or get_action(action(place))
    assert found is not None
    with pytest.raises(ActionDefinitionError, match="the precomputed schemas do not match") as error:
        ActionInvoker(found, TypeCodec(), schemas=_stale(_place_document(), change))
    assert "action 'place'" in str(error.value)
    assert "stale: rebuild the function (servey-faas --run=build)" in str(error.value)
    assert error.match(says)


def test_build_invokers_takes_documents_by_action_name() -> None:
    def one(text: str) -> str:
        return text

    def two(n: int = 2) -> int:
        return n

    actions = [a for a in (get_action(action(one)), get_action(action(two))) if a is not None]
    documents = {"one": build_invokers(actions)["one"].schema_document, "elsewhere": {}}
    codec = RecordingCodec()
    invokers = build_invokers(actions, codec, schemas=documents)
    assert codec.calls == ["check", "schema", "check", "schema"]  # two's param and result only
    assert invokers["one"].invoke_sync({"text": "x"}) == "x" and invokers["two"].invoke_sync({}) == 2
    stale = {"one": {"params": {**documents["one"]["params"], "properties": {}}, "result": {}}}
    with pytest.raises(ActionDefinitionError, match="action 'one': the precomputed schemas"):
        build_invokers(actions, schemas=stale)
