"""The schema: what becomes which field and type, the SDL (and ``--run=graphql-schema``), built once,
caches on and bounded."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import subprocess
import sys
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from servey_faas import WEB_GET, WEB_POST, action
from servey_faas.errors import ActionDefinitionError
from servey_faas.web import create_app
from servey_faas.web.graphql import build_schema, routes
from servey_faas.web.graphql.schema import DOCUMENT_CACHE_SIZE
from tests.demo import REPO_ROOT, load_demo_app
from tests.integration.live_server import CLIENT_TIMEOUT, serve

from .actions_for_graphql import SensorActions, app_of


@pytest.fixture(scope="module")
def sensor_sdl_text(sensors: SensorActions) -> str:
    return build_schema(app_of(*sensors.functions)).sdl()


@pytest.fixture(scope="module")
def sensor_sdl(sensor_sdl_text: str) -> graphql.GraphQLSchema:
    return graphql.build_schema(sensor_sdl_text)


def fields(schema: graphql.GraphQLSchema, type_name: str) -> dict[str, str]:
    """``{field: "Type"}`` with arguments: ``{"average": "(last: Int! = 0): Float!"}``-like strings."""
    type_ = schema.get_type(type_name)
    assert isinstance(type_, (graphql.GraphQLObjectType, graphql.GraphQLInputObjectType))
    out = {}
    for name, f in type_.fields.items():
        args = getattr(f, "args", {})
        shown = ", ".join(f"{a}: {arg.type}" for a, arg in args.items())
        out[name] = f"({shown}) {f.type}" if args else str(f.type)
    return out


def test_get_actions_are_queries_and_the_others_mutations(sensor_sdl: graphql.GraphQLSchema) -> None:
    assert sensor_sdl.query_type is not None and sensor_sdl.mutation_type is not None
    assert list(sensor_sdl.query_type.fields) == [
        "growTree",
        "getSensor",
        "listSensors",
        "bothWays",
        "explode",
        "notAFloat",
        "whoami",
        "maybeMe",
    ]
    assert list(sensor_sdl.mutation_type.fields) == ["registerSensor", "echoReading", "bothWays", "forgetSensor"]


def test_schedule_only_actions_and_methods_are_not_fields(sensor_sdl: graphql.GraphQLSchema) -> None:
    names = {*fields(sensor_sdl, "Query"), *fields(sensor_sdl, "Mutation"), *fields(sensor_sdl, "Sensor")}
    assert "nightlyCleanup" not in names
    assert "refresh" not in names


def test_parameters_are_typed_arguments_and_authorization_is_not_one(
    sensor_sdl: graphql.GraphQLSchema, sensor_sdl_text: str
) -> None:
    query = fields(sensor_sdl, "Query")
    assert query["getSensor"] == "(station: String!, unit: Unit!) Sensor!"
    assert query["listSensors"] == "(stations: [String!]!, since: DateTime) [Sensor!]!"
    assert query["whoami"] == "String!"
    assert query["maybeMe"] == "String!"
    assert query["notAFloat"] == "JSON!"
    # defaults are published as GraphQL literals of their JSON form, empty default_factory values too
    assert "getSensor(station: String!, unit: Unit! = CELSIUS): Sensor!" in sensor_sdl_text
    assert "listSensors(stations: [String!]!, since: DateTime = null): [Sensor!]!" in sensor_sdl_text
    assert "average(last: BigInt! = 0): Float!" in sensor_sdl_text
    assert (
        "  unit: Unit! = CELSIUS\n  serial: UUID = null\n  calibratedOn: Date = null\n  tags: [String!]! = []\n"
        "  limits: JSON! = {  }\n"
    ) in sensor_sdl_text


def test_dataclasses_are_object_and_input_types(sensor_sdl: graphql.GraphQLSchema) -> None:
    assert fields(sensor_sdl, "Sensor") == {
        "id": "UUID!",
        "station": "String!",
        "installedAt": "DateTime!",
        "location": "Location!",
        "unit": "Unit!",
        "readings": "[Float!]!",
        "serial": "UUID",
        "calibratedOn": "Date",
        "tags": "[String!]!",
        "limits": "JSON!",
        "average": "(last: BigInt!) Float!",
        "broken": "String!",
        "describe": "(unit: Unit!, precise: Boolean!) String!",
        "owner": "String!",
        "readingsAbove": "(threshold: ReadingInput!) [Reading!]!",
    }
    assert fields(sensor_sdl, "SensorSpecInput") == {
        "station": "String!",
        "installedAt": "DateTime!",
        "location": "LocationInput!",
        "unit": "Unit!",
        "serial": "UUID",
        "calibratedOn": "Date",
        "tags": "[String!]!",  # default_factory=list: the default is []
        "limits": "JSON!",
    }
    assert fields(sensor_sdl, "Tree") == {"label": "String!", "children": "[Tree!]!", "parentLabel": "String"}
    unit = sensor_sdl.get_type("Unit")
    assert isinstance(unit, graphql.GraphQLEnumType)
    assert list(unit.values) == ["CELSIUS", "FAHRENHEIT"]
    assert unit.description == "A temperature unit."


def test_one_dataclass_in_and_out_gets_two_names(sensor_sdl: graphql.GraphQLSchema) -> None:
    assert fields(sensor_sdl, "Reading") == {"celsius": "Float!", "takenAt": "DateTime!"}
    assert fields(sensor_sdl, "ReadingInput") == {"celsius": "Float!", "takenAt": "DateTime!"}


def test_two_types_with_one_name_are_numbered() -> None:
    def make(module: str) -> type:
        cls = dataclasses.make_dataclass("Point", [("x", int)])
        cls.__module__ = module
        return cls

    first, second = make("one"), make("two")

    named_query = dataclasses.make_dataclass("Query", [("y", int)])

    def first_point() -> Any:
        return first(1)

    def second_point() -> Any:
        return second(2)

    def query() -> Any:
        return named_query(3)

    # annotations of local classes, as objects (this module's annotations are strings)
    for fn, result in ((first_point, first), (second_point, second), (query, named_query)):
        fn.__annotations__ = {"return": result}
        action(triggers=(WEB_GET,))(fn)

    sdl = graphql.build_schema(build_schema(app_of(first_point, second_point, query)).sdl())
    assert fields(sdl, "Query") == {"firstPoint": "Point!", "secondPoint": "Point2!", "query": "Query2!"}


def test_an_app_without_get_actions_still_has_a_query_type() -> None:
    @action(triggers=(WEB_POST,))
    def only_post(x: int) -> int:
        return x

    built = build_schema(app_of(only_post))
    sdl = graphql.build_schema(built.sdl())
    assert fields(sdl, "Query") == {"_empty": "Boolean"}
    result = asyncio.run(built.execute("mutation { onlyPost(x: 2) }"))
    assert result.data == {"onlyPost": 2}


def test_two_actions_with_one_camel_case_name_are_refused() -> None:
    @action(triggers=(WEB_GET,))
    def say_hi() -> str:
        return "hi"

    @action(triggers=(WEB_GET,), name="sayHi")
    def other() -> str:
        return "hi"

    with pytest.raises(ActionDefinitionError, match="both want the GraphQL field 'sayHi'"):
        build_schema(app_of(say_hi, other))


def test_the_demo_sdl_parses_with_graphql_core() -> None:
    sdl = build_schema(load_demo_app()).sdl()
    schema = graphql.build_schema(sdl)
    assert schema.query_type is not None and schema.mutation_type is not None
    assert sorted(schema.query_type.fields) == ["currentTemperature", "getOrderLine", "sayHello"]
    assert sorted(schema.mutation_type.fields) == ["cancelOrder", "quoteOrder", "toFahrenheit"]
    assert graphql.print_schema(schema)  # prints back


def test_run_graphql_schema_writes_the_sdl(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "servey_faas", "--run=graphql-schema"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == build_schema(load_demo_app()).sdl()
    graphql.build_schema(done.stdout)
    output = tmp_path / "schema.graphql"
    done = subprocess.run(
        [sys.executable, "-m", "servey_faas", "--run=graphql-schema", "--output", str(output)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == f"wrote the GraphQL schema to {output}"
    graphql.build_schema(output.read_text(encoding="utf-8"))


def test_the_schema_is_built_once_per_app(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def counting(app: Any) -> Any:
        schema = build_schema(app)
        built.append(schema)
        return schema

    monkeypatch.setattr(routes, "build_schema", counting)
    with serve(create_app(load_demo_app())) as url, httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        for name in ("a", "b", "c"):
            response = http.post(
                "/graphql", json={"query": "query ($n: String!) { sayHello(name: $n) }", "variables": {"n": name}}
            )
            assert response.json() == {"data": {"sayHello": f"Hello {name}!"}}
        assert http.get("/graphql", params={"query": '{ sayHello(name: "d") }'}).status_code == 200
    assert len(built) == 1


def test_each_distinct_document_is_parsed_and_validated_once_in_a_bounded_cache() -> None:
    schema = build_schema(load_demo_app())
    operations = schema.operations
    query = '{ sayHello(name: "a query only this test sends") }'
    first = operations.document(query)
    for _ in range(3):
        outcome = asyncio.run(schema.execute(query))
        assert outcome.data == {"sayHello": "Hello a query only this test sends!"}
        assert operations.document(query) is first  # the same parsed and validated document
    for i in range(DOCUMENT_CACHE_SIZE):
        operations.document(f'{{ sayHello(name: "{i}") }}')
    assert operations.document(query) is not first  # dropped as the least recently used, parsed again
    assert operations.document(query) == first


@pytest.mark.anyio
async def test_parameters_named_like_strawberry_reserved_arguments_are_ordinary_arguments() -> None:
    import httpx

    from servey_faas import WEB_GET, action, get_action
    from servey_faas.app import ServeyApp
    from servey_faas.discovery import ActionRegistry
    from servey_faas.web import create_app

    @action(triggers=(WEB_GET,))
    def reserved(root: int, parent: str = "p") -> str:
        return f"{root}:{parent}"

    app = create_app(ServeyApp.from_registry(ActionRegistry([get_action(reserved)])), schedules=False)  # type: ignore[list-item]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": '{ reserved(root: 3, parent: "x") }'})

    assert response.json() == {"data": {"reserved": "3:x"}}


def test_a_parameter_named_info_is_refused_with_a_clear_error() -> None:
    from servey_faas import WEB_GET, action, get_action
    from servey_faas.app import ServeyApp
    from servey_faas.discovery import ActionRegistry
    from servey_faas.errors import ActionDefinitionError
    from servey_faas.web import create_app

    @action(triggers=(WEB_GET,))
    def clashing(info: str) -> str:
        return info

    with pytest.raises(ActionDefinitionError, match="named 'info'"):
        create_app(ServeyApp.from_registry(ActionRegistry([get_action(clashing)])))  # type: ignore[list-item]


# --- nullability and defaults: the SDL says what is accepted ----------------------------------------


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


def _stamp() -> str:
    return "made by a factory"


@dataclasses.dataclass(frozen=True)
class Options:
    mode: Mode = Mode.FAST
    tags: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, int] = dataclasses.field(default_factory=dict)
    stamp: str = dataclasses.field(default_factory=_stamp)
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class Node:
    label: str
    children: list[Node] = dataclasses.field(default_factory=list)


@action(triggers=(WEB_POST,))
def configure(
    options: Options = Options(mode=Mode.SLOW, tags=["a"]),
    limit: int = 2**40,
    since: datetime.datetime = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    until: datetime.date | None = None,
) -> str:
    """Echo what it was given."""
    return f"{options} {limit} {since.isoformat()} {until}"


@action(triggers=(WEB_POST,))
def tree_size(root: Node) -> int:
    """The number of nodes of a tree."""
    return 1 + sum(tree_size(c) for c in root.children)


def run(app_schema: Any, query: str, variables: dict[str, Any] | None = None) -> Any:
    return asyncio.run(app_schema.execute(query, variables))


def test_defaults_are_published_as_their_json_form() -> None:
    sdl = build_schema(app_of(configure, tree_size)).sdl()
    assert (
        'configure(options: OptionsInput! = { mode: SLOW, tags: ["a"], extra: {  }, stamp: "made by a factory", '
        'note: null }, limit: BigInt! = 1099511627776, since: DateTime! = "2026-01-01T00:00:00+00:00", '
        "until: Date = null): String!"
    ) in sdl
    assert "input OptionsInput {\n  mode: Mode! = FAST\n  tags: [String!]! = []\n  extra: JSON! = {  }\n" in sdl
    assert "  stamp: String\n  note: String = null\n}" in sdl  # another factory: not published, so nullable
    assert "input NodeInput {\n  label: String!\n  children: [NodeInput!]! = []\n}" in sdl
    graphql.build_schema(sdl)


def test_null_is_accepted_exactly_where_the_sdl_allows_it() -> None:
    built = build_schema(app_of(configure, tree_size))
    # non-null with a default: null is refused by GraphQL itself
    for query in (
        'mutation { treeSize(root: {label: "a", children: null}) }',
        "mutation { configure(options: {tags: null}) }",
        "mutation { configure(options: {extra: null}) }",
        "mutation { configure(limit: null) }",
    ):
        result = run(built, query)
        assert result.errors and "not to be None" in result.errors[0].message, query
    # nullable: null is a value of the Python type, or "left out" where the type has no null
    result = run(built, "mutation { configure(options: {note: null, stamp: null}, until: null) }")
    assert result.errors is None
    assert result.data == {
        "configure": "Options(mode=<Mode.FAST: 'fast'>, tags=[], extra={}, stamp='made by a factory', note=None) "
        "1099511627776 2026-01-01T00:00:00+00:00 None"
    }


@pytest.mark.anyio
async def test_left_out_inputs_get_the_same_defaults_as_over_rest() -> None:
    app = app_of(configure, tree_size)
    built = build_schema(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(app)), base_url="http://t") as client:
        for body, query in (
            ({}, "mutation { configure }"),
            ({"options": {}}, "mutation { configure(options: {}) }"),
            ({"options": {"tags": ["x"]}, "limit": 3}, 'mutation { configure(options: {tags: ["x"]}, limit: 3) }'),
            (
                {"root": {"label": "a", "children": [{"label": "b"}]}},
                'mutation { treeSize(root: {label: "a", children: [{label: "b"}]}) }',
            ),
        ):
            path = "/actions/tree-size" if "root" in body else "/actions/configure"
            rest = await client.post(path, json=body)
            assert rest.status_code == 200, rest.text
            result = await built.execute(query)
            assert result.errors is None, result.errors
            assert list(result.data.values()) == [rest.json()], query
