"""JSON Schemas, loading and dumping of action types (servey_faas/schemas.py, _codec_extensions.py)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import subprocess
import sys
import threading
import time
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from servey_faas import schemas
from servey_faas.schemas import COMPONENTS_PREFIX, TypeCodec, hoist_components, normalize_type


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Point:
    """A point on a plane."""

    x: int
    y: int = 0


@dataclass(frozen=True)
class Shape:
    """A named polygon."""

    name: str
    points: list[Point]
    color: Color = Color.RED
    origin: Point | None = None
    labels: dict[str, Point] = field(default_factory=dict)
    created: datetime.datetime | None = None
    day: Optional[datetime.date] = None  # noqa: UP045 - typing.Optional must keep working
    id: uuid.UUID | None = None
    extra: Any = None
    size: int | str = 0


@dataclass(frozen=True)
class Tree:
    """A binary tree."""

    label: str
    left: Tree | None = None
    right: Optional[Tree] = None  # noqa: UP045


@dataclass(frozen=True)
class Forest:
    trees: list[Tree]
    biggest: Tree | None = None


@dataclass(frozen=True)
class _OtherTree:
    value: int
    child: _OtherTree | None = None


# A second, different type called "Tree" (as if it came from another module).
_OtherTree.__name__ = _OtherTree.__qualname__ = "Tree"

Item1 = dataclasses.make_dataclass("Item", [("a", int)])
Item2 = dataclasses.make_dataclass("Item", [("b", str)])


@pytest.fixture(scope="module")
def codec() -> TypeCodec:
    return TypeCodec()


# --- schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "schema"),
    [
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (str, {"type": "string"}),
        (bool, {"type": "boolean"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict[str, Any], {"type": "object", "additionalProperties": {}}),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (list[int | None], {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}),
        (Color, {"name": "Color", "enum": ["RED", "BLUE"]}),
    ],
)
def test_schema_of_simple_types(codec: TypeCodec, type_: Any, schema: dict[str, Any]) -> None:
    assert codec.schema(type_) == schema


def test_schema_of_nested_dataclass(codec: TypeCodec) -> None:
    schema = codec.schema(Shape)
    assert schema["type"] == "object"
    assert schema["name"] == "Shape"
    assert schema["description"] == "A named polygon."
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "points"]
    props = schema["properties"]
    assert props["points"]["items"]["name"] == "Point"
    assert props["points"]["items"]["properties"] == {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}}
    assert props["color"] == {"name": "Color", "enum": ["RED", "BLUE"], "default": "RED"}
    assert props["created"] == {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}], "default": None}
    assert props["day"]["anyOf"][0] == {"type": "string", "format": "date"}
    assert props["id"]["anyOf"][0] == {"type": "string", "format": "uuid"}
    assert props["extra"] == {"default": None}
    assert props["size"] == {"anyOf": [{"type": "integer"}, {"type": "string"}], "default": 0}


def test_schema_of_recursive_dataclass_refers_to_its_path(codec: TypeCodec) -> None:
    schema = codec.schema(Tree, "#/properties/tree")
    assert schema["properties"]["left"]["anyOf"][0] == {"$ref": "#/properties/tree"}
    assert schema["properties"]["right"]["anyOf"][0] == {"$ref": "#/properties/tree"}
    assert codec.schema(Tree)["properties"]["left"]["anyOf"][0] == {"$ref": "#"}


def test_schema_is_a_fresh_copy(codec: TypeCodec) -> None:
    codec.schema(Point)["properties"]["x"]["type"] = "mangled"
    assert codec.schema(Point)["properties"]["x"] == {"type": "integer"}


@pytest.mark.parametrize("type_", [bytes, dict[int, str], object])
def test_types_without_json_form(codec: TypeCodec, type_: Any) -> None:
    with pytest.raises(ValueError):
        codec.schema(type_)


def test_check_names_the_type(codec: TypeCodec) -> None:
    codec.check(Shape)
    with pytest.raises(ValueError, match="no marshaller for"):
        codec.check(bytes)


def test_extensions_do_not_leak_into_the_libraries_global_contexts(codec: TypeCodec) -> None:
    from schemey import schema_from_type

    with pytest.raises(Exception):  # noqa: B017 - schemey's default context knows no datetime.date
        schema_from_type(datetime.date)


# --- load / dump --------------------------------------------------------------------------------


def test_round_trip_of_a_nested_dataclass(codec: TypeCodec) -> None:
    shape = Shape(
        name="tri",
        points=[Point(0, 0), Point(1), Point(0, 2)],
        color=Color.BLUE,
        origin=Point(5, 5),
        labels={"apex": Point(0, 2)},
        created=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        day=datetime.date(2026, 1, 2),
        id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        extra={"any": [1, "json"]},
        size="large",
    )
    dumped = codec.dump(shape)
    assert dumped == {
        "name": "tri",
        "points": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 0, "y": 2}],
        "color": "BLUE",
        "origin": {"x": 5, "y": 5},
        "labels": {"apex": {"x": 0, "y": 2}},
        "created": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "id": "12345678-1234-5678-1234-567812345678",
        "extra": {"any": [1, "json"]},
        "size": "large",
    }
    assert codec.load(Shape, dumped) == shape
    assert codec.validator(codec.schema(Shape)).is_valid(dumped)


def test_load_applies_dataclass_defaults(codec: TypeCodec) -> None:
    loaded = codec.load(Shape, {"name": "empty", "points": [{"x": 1}]})
    assert loaded == Shape(name="empty", points=[Point(1, 0)])


def test_round_trip_of_a_recursive_dataclass(codec: TypeCodec) -> None:
    tree = Tree("root", left=Tree("l", right=Tree("lr")), right=None)
    dumped = codec.dump(tree)
    assert dumped["left"]["right"] == {"label": "lr", "left": None, "right": None}
    assert codec.load(Tree, dumped) == tree


@pytest.mark.parametrize(
    ("type_", "value", "json_value"),
    [
        (int | None, None, None),
        (int | None, 3, 3),
        (Optional[Point], Point(1, 2), {"x": 1, "y": 2}),  # noqa: UP045
        (Point | None, None, None),
        (list[Point], [Point(1)], [{"x": 1, "y": 0}]),
        (dict[str, Color], {"a": Color.RED}, {"a": "RED"}),
        (dict[str, list[int]], {"a": [1, 2]}, {"a": [1, 2]}),
        (datetime.date, datetime.date(2026, 2, 28), "2026-02-28"),
        (datetime.datetime, datetime.datetime(2026, 2, 28, 12, 30), "2026-02-28T12:30:00"),
        (uuid.UUID, uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Any, {"k": [None, 1.5]}, {"k": [None, 1.5]}),
        (Color, Color.BLUE, "BLUE"),
    ],
)
def test_round_trip(codec: TypeCodec, type_: Any, value: Any, json_value: Any) -> None:
    type_ = normalize_type(type_)
    assert codec.dump(value, type_) == json_value
    assert codec.load(type_, json_value) == value


@pytest.mark.parametrize(("value", "loaded"), [(1, 1), ("1", "1"), ("x", "x")])
def test_untagged_union_loads_the_member_the_json_is(codec: TypeCodec, value: Any, loaded: Any) -> None:
    result = codec.load(normalize_type(int | str), value)
    assert result == loaded and type(result) is type(loaded)


@pytest.mark.parametrize(("value", "dumped"), [(1, 1), ("a", "a"), (True, True)])
def test_untagged_union_dumps_without_a_type_tag(codec: TypeCodec, value: Any, dumped: Any) -> None:
    assert codec.dump(value, normalize_type(int | str)) == dumped


def test_union_of_dataclasses_and_scalars(codec: TypeCodec) -> None:
    type_ = normalize_type(Point | str)
    assert codec.load(type_, {"x": 1}) == Point(1)
    assert codec.load(type_, "p") == "p"
    assert codec.dump(Point(1), type_) == {"x": 1, "y": 0}


def test_bool_is_not_an_int_in_unions(codec: TypeCodec) -> None:
    type_ = normalize_type(int | bool)
    assert codec.load(type_, True) is True
    assert codec.load(type_, 0) == 0 and codec.load(type_, 0) is not False


def test_normalize_type() -> None:
    assert normalize_type(int | None) == Optional[int]  # noqa: UP045
    assert normalize_type(int | str | None) == typing.Union[int, str, None]  # noqa: UP007
    assert normalize_type(list[int]) == list[int]
    assert normalize_type(Point) is Point


# --- validator ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        (datetime.date, "2026-02-28", "2026-02-30"),
        (datetime.date, "2026-02-28", "not a date"),
        (datetime.datetime, "2026-02-28T10:00:00+01:00", "2026-02-28T25:00:00"),
        (uuid.UUID, "00000000-0000-0000-0000-000000000001", "not-a-uuid"),
    ],
)
def test_validator_checks_formats(codec: TypeCodec, type_: Any, good: str, bad: str) -> None:
    validator = codec.validator(codec.schema(type_))
    assert validator.is_valid(good)
    assert not validator.is_valid(bad)


# --- hoist_components ---------------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_hoist_nested_dataclasses(codec: TypeCodec) -> None:
    components: dict[str, Any] = {}
    schema = hoist_components({"type": "array", "items": codec.schema(Shape, "#/items")}, components, "#")
    assert schema == {"type": "array", "items": {"$ref": f"{COMPONENTS_PREFIX}Shape"}}
    assert set(components) == {"Shape", "Point"}
    shape = components["Shape"]
    assert "name" not in shape  # the "name" marker is not a JSON Schema keyword
    assert shape["properties"]["name"] == {"type": "string"}  # the field called "name" stays
    assert shape["properties"]["points"]["items"] == {"$ref": f"{COMPONENTS_PREFIX}Point"}
    assert shape["properties"]["origin"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Point"}
    assert shape["properties"]["labels"]["additionalProperties"] == {"$ref": f"{COMPONENTS_PREFIX}Point"}
    assert components["Point"]["properties"]["x"] == {"type": "integer"}
    assert all(ref.startswith(COMPONENTS_PREFIX) for ref in _refs(components))


def test_hoist_recursive_self_reference(codec: TypeCodec) -> None:
    components: dict[str, Any] = {}
    schema = hoist_components(codec.schema(Tree, "#/properties/tree"), components, "#/properties/tree")
    assert schema == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    assert components["Tree"]["properties"]["left"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    assert components["Tree"]["properties"]["right"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree"}


def test_hoist_recursive_type_used_twice_in_one_schema(codec: TypeCodec) -> None:
    components: dict[str, Any] = {}
    assert hoist_components(codec.schema(Forest), components) == {"$ref": f"{COMPONENTS_PREFIX}Forest"}
    assert set(components) == {"Forest", "Tree"}
    forest = components["Forest"]["properties"]
    assert forest["trees"]["items"] == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    assert forest["biggest"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    assert all(ref.startswith(COMPONENTS_PREFIX) for ref in _refs(components))


def test_hoist_the_same_type_twice_shares_one_component(codec: TypeCodec) -> None:
    components: dict[str, Any] = {}
    first = hoist_components(codec.schema(Point, "#/properties/a"), components, "#/properties/a")
    second = hoist_components(codec.schema(Point, "#/properties/b"), components, "#/properties/b")
    assert first == second == {"$ref": f"{COMPONENTS_PREFIX}Point"}
    assert list(components) == ["Point"]


def test_hoist_two_types_with_one_name(codec: TypeCodec) -> None:
    holder = dataclasses.make_dataclass("Holder", [("one", Item1), ("two", Item2), ("three", Item2), ("four", Item1)])
    components: dict[str, Any] = {}
    hoist_components(codec.schema(holder), components)
    assert components["Item"]["properties"] == {"a": {"type": "integer"}}
    assert components["Item2"]["properties"] == {"b": {"type": "string"}}
    props = components["Holder"]["properties"]
    assert props["one"] == {"$ref": f"{COMPONENTS_PREFIX}Item"}
    assert props["two"] == {"$ref": f"{COMPONENTS_PREFIX}Item2"}
    # schemey writes a repeated type as a $ref to its first place; it follows the rename
    assert props["three"] == {"$ref": f"{COMPONENTS_PREFIX}Item2"}
    assert props["four"] == {"$ref": f"{COMPONENTS_PREFIX}Item"}


def test_hoist_two_recursive_types_with_one_name(codec: TypeCodec) -> None:
    components: dict[str, Any] = {}
    assert hoist_components(codec.schema(Tree), components) == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    other = hoist_components(codec.schema(_OtherTree), components)
    assert other == {"$ref": f"{COMPONENTS_PREFIX}Tree2"}
    assert components["Tree2"]["properties"]["child"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree2"}
    assert components["Tree"]["properties"]["left"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree"}
    # hoisting the renamed type again finds its component instead of making Tree3
    again = hoist_components(codec.schema(_OtherTree, "#/properties/t"), components, "#/properties/t")
    assert again == {"$ref": f"{COMPONENTS_PREFIX}Tree2"}
    assert set(components) == {"Tree", "Tree2"}


def test_hoist_leaves_schemas_without_dataclasses_alone() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    components: dict[str, Any] = {}
    assert hoist_components(schema, components) == schema
    assert components == {}


def test_hoist_keeps_foreign_refs() -> None:
    schema = {"items": {"$ref": "#/components/schemas/Elsewhere"}}
    assert hoist_components(schema, {}) == schema


def test_hoist_three_recursive_types_with_one_name(codec: TypeCodec) -> None:
    components: dict[str, Any] = {"Tree": {"type": "object", "properties": {}}, "Tree2": {"type": "object"}}
    assert hoist_components(codec.schema(_OtherTree), components) == {"$ref": f"{COMPONENTS_PREFIX}Tree3"}
    assert components["Tree3"]["properties"]["child"]["anyOf"][0] == {"$ref": f"{COMPONENTS_PREFIX}Tree3"}


def test_a_dataclass_without_docstring_has_no_generated_description() -> None:
    @dataclasses.dataclass
    class Bare:
        x: int

    schema = TypeCodec().schema(Bare)

    assert "description" not in schema


def test_a_dataclass_docstring_is_its_description() -> None:
    @dataclasses.dataclass
    class Documented:
        """A documented thing."""

        x: int

    assert TypeCodec().schema(Documented)["description"] == "A documented thing."


# --- contexts made on first use ---------------------------------------------------------------------

LAZINESS = """
import json, sys
from servey_faas.schemas import TypeCodec
heavy = ("schemey", "marshy", "injecty")
codec = TypeCodec()
created = sorted(m for m in heavy if m in sys.modules)
codec.validator({"type": "string"}).validate("x")
validated = sorted(m for m in heavy if m in sys.modules)
dumped = codec.dump(3, int)
used = sorted(m for m in heavy if m in sys.modules)
print(json.dumps([created, validated, dumped, used]))
"""


def test_a_codec_makes_its_schemey_and_marshy_contexts_on_first_use() -> None:
    """In a fresh interpreter: creating a codec and validating import neither schemey, marshy nor
    injecty (their plug-in discovery); the first dump does."""
    result = subprocess.run([sys.executable, "-c", LAZINESS], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    created, validated, dumped, used = json.loads(result.stdout)
    assert (created, validated, dumped) == ([], [], 3)
    assert used == ["injecty", "marshy", "schemey"]


def test_first_use_from_many_threads_makes_the_contexts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = schemas._create_contexts

    def counting() -> Any:
        time.sleep(0.05)  # widens the window in which other threads may start making their own
        contexts = real()
        made.append(contexts)
        return contexts

    monkeypatch.setattr(schemas, "_create_contexts", counting)
    codec = TypeCodec()
    assert made == []
    start = threading.Barrier(8)
    results: list[tuple[Any, Any, Any]] = []
    failures: list[BaseException] = []

    def first_use() -> None:
        try:
            start.wait(timeout=30)
            shape = Shape("s", [Point(1, 2)])
            results.append((codec.dump(shape), codec.schema(Point), codec.load(Point, {"x": 3})))
        except BaseException as e:  # reported below, with the thread's own error
            failures.append(e)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and len(results) == 8
    assert len(made) == 1
    assert all(r == results[0] for r in results)
    assert results[0][2] == Point(3)
