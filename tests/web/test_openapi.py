"""The OpenAPI 3.1 document: validity, operations of the demo actions, components, examples, build-once."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.applications import Starlette

import servey_faas.web.openapi as openapi_module
from servey_faas import (
    WEB_GET,
    WEB_POST,
    Authorization,
    ETagCacheControl,
    Example,
    ScopeAccessControl,
    TtlCacheControl,
    WebTrigger,
    action,
    get_action,
)
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.web import create_app
from servey_faas.web.openapi import build_openapi

pytestmark = pytest.mark.anyio

COMPONENTS = "#/components/schemas/"


def app_of(*fns: Any) -> ServeyApp:
    actions = [get_action(fn) for fn in fns]
    assert all(actions)
    return ServeyApp.from_registry(ActionRegistry(a for a in actions if a is not None))


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def assert_refs_resolve(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    refs = list(refs_in(doc))
    assert refs
    for ref in refs:
        assert ref.startswith(COMPONENTS), ref
        assert ref.removeprefix(COMPONENTS) in schemas, ref


def schema_keys(node: Any) -> Iterator[str]:
    """Keys of every schema object below ``node`` (properties maps are looked through)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("default", "enum", "const", "examples", "example", "value"):
                continue
            if key != "properties":
                yield key
            yield from schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_keys(value)


def component_validator(doc: dict[str, Any], name: str) -> Draft202012Validator:
    """A JSON Schema validator of one component, with the document's other components reachable."""
    return Draft202012Validator({"$ref": f"{COMPONENTS}{name}", "components": doc["components"]})


@pytest.fixture(scope="module")
def doc(demo_app: ServeyApp) -> dict[str, Any]:
    return build_openapi(demo_app)


def operation(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = doc["paths"][path][method]
    return op


# --- the demo actions ------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_ref_resolves_under_components_schemas(doc: dict[str, Any]) -> None:
    assert_refs_resolve(doc)


def test_schemey_name_keys_do_not_leak_into_the_document(doc: dict[str, Any]) -> None:
    assert "name" not in set(schema_keys(doc["components"]))
    for path_item in doc["paths"].values():
        for op in path_item.values():
            assert "name" not in set(schema_keys(op.get("requestBody", {})))
            assert "name" not in set(schema_keys(op["responses"]))


def test_info_defaults_and_can_be_configured(demo_app: ServeyApp) -> None:
    import servey_faas

    default = build_openapi(demo_app)["info"]
    assert default == {"title": "servey_faas", "version": servey_faas.__version__}
    custom = build_openapi(demo_app, title="Shop API", version="2.1.0", description="Orders and greetings.")
    assert custom["info"] == {"title": "Shop API", "version": "2.1.0", "description": "Orders and greetings."}


def test_one_operation_per_action_named_after_it(doc: dict[str, Any], demo_app: ServeyApp) -> None:
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert sorted(ids) == sorted(demo_app.invokers)
    assert set(doc["paths"]) == {
        "/actions/say-hello",
        "/actions/quote-order",
        "/orders/{order_number}/lines/{line}",
        "/orders/{order_number}",
        "/actions/current-temperature",
        "/actions/to-fahrenheit",
    }


def test_say_hello_is_a_get_with_a_required_string_query_param(doc: dict[str, Any]) -> None:
    op = operation(doc, "/actions/say-hello", "get")
    assert op["operationId"] == "say_hello"
    assert op["summary"] == "Greet a user by name."
    assert "description" not in op
    assert op["tags"] == ["greetings"]
    assert op["parameters"] == [
        {
            "name": "name",
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "examples": {"world": {"summary": "world", "value": "World"}},
        }
    ]
    assert "requestBody" not in op
    ok = op["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"type": "string"}
    assert ok["examples"] == {"world": {"summary": "world", "value": "Hello World!"}}
    assert set(op["responses"]) == {"200", "401", "422", "500", "504"}  # 401: a token sent is verified


def test_quote_order_takes_a_json_body_of_hoisted_dataclasses(doc: dict[str, Any]) -> None:
    op = operation(doc, "/actions/quote-order", "post")
    assert op["operationId"] == "quote_order"
    assert "parameters" not in op
    body = op["requestBody"]
    assert body["required"] is True
    media = body["content"]["application/json"]
    assert media["schema"] == {
        "type": "object",
        "properties": {"order": {"$ref": f"{COMPONENTS}Order"}},
        "required": ["order"],
        "additionalProperties": False,
    }
    example = media["examples"]["two_lines"]
    assert example["summary"] == "two_lines"
    assert example["description"] == "A quote for two lines (order_id and quoted_at vary)."
    assert example["value"]["order"]["customer"] == "ada"

    schemas = doc["components"]["schemas"]
    order = schemas["Order"]
    assert order["properties"]["lines"] == {"type": "array", "items": {"$ref": f"{COMPONENTS}OrderLine"}}
    assert order["properties"]["currency"] == {"$ref": f"{COMPONENTS}Currency", "default": "EUR"}
    assert order["required"] == ["customer", "lines"]
    assert order["description"] == "An order as a customer places it."
    assert schemas["OrderLine"]["required"] == ["sku"]
    assert schemas["Currency"] == {"type": "string", "enum": ["EUR", "USD"]}
    assert schemas["Quote"]["properties"]["currency"] == {"$ref": f"{COMPONENTS}Currency"}

    responses = op["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Quote"}
    assert responses["200"]["content"]["application/json"]["examples"]["two_lines"]["value"]["total"] == 11.0
    assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
    assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}ValidationError"}
    assert responses["500"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
    assert responses["413"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
    assert "SERVEY_MAX_BODY_BYTES" in responses["413"]["description"]
    assert responses["504"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
    assert "within its timeout of 30 s" in responses["504"]["description"]


def test_the_example_body_validates_against_the_request_schema(doc: dict[str, Any]) -> None:
    media = operation(doc, "/actions/quote-order", "post")["requestBody"]["content"]["application/json"]
    validator = Draft202012Validator({**media["schema"], "components": doc["components"]})
    for example in media["examples"].values():
        validator.validate(example["value"])


def test_get_order_line_reads_both_params_from_the_path(doc: dict[str, Any]) -> None:
    op = operation(doc, "/orders/{order_number}/lines/{line}", "get")
    assert op["operationId"] == "get_order_line"
    assert op["parameters"] == [
        {
            "name": "order_number",
            "in": "path",
            "required": True,
            "schema": {"type": "integer"},
            "examples": {"first_line": {"summary": "first_line", "value": 42}},
        },
        {
            # The function default (line=1) never applies to a path segment: not documented.
            "name": "line",
            "in": "path",
            "required": True,
            "schema": {"type": "integer"},
            "examples": {"first_line": {"summary": "first_line", "value": 1}},
        },
    ]


def test_cancel_order_is_a_delete_with_a_path_param_and_an_optional_query_param(doc: dict[str, Any]) -> None:
    op = operation(doc, "/orders/{order_number}", "delete")
    assert op["operationId"] == "cancel_order"
    assert "requestBody" not in op
    order_number, dry_run = op["parameters"]
    assert order_number["in"] == "path"
    assert order_number["required"] is True
    assert set(order_number["examples"]) == {"cancel", "keep"}
    assert dry_run == {
        "name": "dry_run",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
        "examples": {"keep": {"summary": "keep", "value": True}},
    }
    assert "400" not in op["responses"]
    examples = op["responses"]["200"]["content"]["application/json"]["examples"]
    assert examples == {
        "cancel": {"summary": "cancel", "value": {"order_number": 7, "cancelled": True}},
        "keep": {"summary": "keep", "value": {"order_number": 7, "cancelled": False}},
    }


def test_every_example_of_every_action_is_shown(doc: dict[str, Any], demo_app: ServeyApp) -> None:
    by_id = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    for name, invoker in demo_app.invokers.items():
        shown = by_id[name]["responses"]["200"]["content"]["application/json"].get("examples", {})
        assert set(shown) == {e.name for e in invoker.action.examples}, name


def shown_examples(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """``(where, schema, value)`` of every example of ``doc``: parameters, request bodies, results."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                media = param.get("content", {}).get("application/json", param)
                for name, example in media.get("examples", {}).items():
                    yield f"{where} {param['name']} {name}", media["schema"], example["value"]
            for part in [op.get("requestBody", {}), *op["responses"].values()]:
                media = part.get("content", {}).get("application/json", {})
                for name, example in media.get("examples", {}).items():
                    yield f"{where} {name}", media["schema"], example["value"]


def assert_examples_validate(doc: dict[str, Any]) -> int:
    count = 0
    for where, schema, value in shown_examples(doc):
        errors = list(Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(value))
        assert not errors, (where, value, errors[0].message)
        count += 1
    return count


def test_every_example_shown_validates_against_its_schema(doc: dict[str, Any], secured_doc: dict[str, Any]) -> None:
    assert assert_examples_validate(doc) >= 15
    assert assert_examples_validate(secured_doc) >= 1


@action(
    triggers=(WEB_GET,),
    examples=(Example("unspecified", {"x": 1}, include_in_tests=False), Example("two", {"x": 1}, 2)),
)
def add_one(x: int) -> int:
    """Add one."""
    return x + 1


@action(triggers=(WEB_GET,), examples=(Example("nothing", {"x": 0}), Example("one", {"x": 1}, 1)))
def maybe(x: int) -> int | None:
    """None for zero."""
    return x or None


def test_a_result_example_of_none_is_shown_only_where_the_result_may_be_null() -> None:
    doc = build_openapi(app_of(add_one, maybe))
    assert_examples_validate(doc)
    add = operation(doc, "/actions/add-one", "get")
    assert set(add["parameters"][0]["examples"]) == {"unspecified", "two"}  # its params are still shown
    assert add["responses"]["200"]["content"]["application/json"]["examples"] == {"two": {"summary": "two", "value": 2}}
    results = operation(doc, "/actions/maybe", "get")["responses"]["200"]["content"]["application/json"]
    assert results["examples"] == {
        "nothing": {"summary": "nothing", "value": None},
        "one": {"summary": "one", "value": 1},
    }


def test_tags_name_the_action_modules(doc: dict[str, Any]) -> None:
    assert [t["name"] for t in doc["tags"]] == ["greetings", "orders", "weather"]
    assert doc["tags"][0]["description"] == "Greetings: the smallest action, a GET with a query parameter."


async def test_error_components_describe_the_bodies_the_app_answers(doc: dict[str, Any], demo_asgi: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_asgi), base_url="http://t") as client:
        invalid = await client.post("/actions/quote-order", json={"order": {"customer": 3, "lines": [{}]}, "x": 1})
        missing = await client.get("/actions/say-hello")
        malformed = await client.post(
            "/actions/quote-order", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert invalid.status_code == missing.status_code == 422
    assert malformed.status_code == 400
    validation = component_validator(doc, "ValidationError")
    validation.validate(invalid.json())
    validation.validate(missing.json())
    assert any(isinstance(part, int) for e in invalid.json()["errors"] for part in e["location"])
    component_validator(doc, "Error").validate(malformed.json())
    # The components are not so loose that anything passes.
    assert not component_validator(doc, "ValidationError").is_valid({"error": "validation_error", "message": "m"})


# --- served once ---------------------------------------------------------------------------------


async def test_the_document_is_built_once_and_served_as_is(
    demo_app: ServeyApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[ServeyApp] = []
    real = openapi_module.build_openapi

    def counting(app: ServeyApp, **kwargs: Any) -> dict[str, Any]:
        calls.append(app)
        return real(app, **kwargs)

    monkeypatch.setattr(openapi_module, "build_openapi", counting)
    asgi = create_app(demo_app)
    assert len(calls) == 1
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as client:
        bodies = [(await client.get("/openapi.json")).content for _ in range(20)]
        await client.get("/docs")
        await client.get("/redoc")
    assert len(calls) == 1
    assert len(set(bodies)) == 1
    assert httpx.Response(200, content=bodies[0]).json() == real(demo_app)


# --- documents of other actions --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Node:
    label: str
    children: list[Node] = dataclasses.field(default_factory=list)


@action(triggers=(WEB_POST,), examples=(Example("leaf", {"root": {"label": "a"}}, 1),))
def count_nodes(root: Node) -> int:
    """Count the nodes of a tree."""
    return 1 + sum(count_nodes(c) for c in root.children)


@action(triggers=(WEB_GET,))
def mirror(tree: Node) -> Node:
    """Mirror a tree given as JSON text in the query string."""
    return Node(tree.label, [mirror(c) for c in reversed(tree.children)])


def test_a_recursive_dataclass_refers_to_its_own_component() -> None:
    doc = build_openapi(app_of(count_nodes, mirror))
    validate(doc)
    assert_refs_resolve(doc)
    node = doc["components"]["schemas"]["Node"]
    assert node["properties"]["children"] == {"type": "array", "items": {"$ref": f"{COMPONENTS}Node"}}
    # The description the dataclass decorator invents ("Node(label: str, ...)") is not shown.
    assert "description" not in node
    body = operation(doc, "/actions/count-nodes", "post")["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["root"] == {"$ref": f"{COMPONENTS}Node"}
    Draft202012Validator({**body["schema"], "components": doc["components"]}).validate(
        {"root": {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}}
    )
    # A dataclass param in a query string is JSON text: documented as content, not as a schema.
    (tree,) = operation(doc, "/actions/mirror", "get")["parameters"]
    assert tree == {
        "name": "tree",
        "in": "query",
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"{COMPONENTS}Node"}}},
    }
    assert operation(doc, "/actions/mirror", "get")["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": f"{COMPONENTS}Node"
    }


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@dataclasses.dataclass(frozen=True)
class Error:
    """A user type that happens to share its name with the framework's error body."""

    code: int


@action(
    name="lookup",
    description="Look something up.\n\nThe long description,\nover two lines.",
    triggers=(WEB_GET, WebTrigger("POST"), WebTrigger("GET", "/lookups/{key}")),
    examples=(Example("big", {"key": "k", "size": "LARGE"}, {"code": 1}, description="A large one."),),
)
def lookup(key: str, size: Size = Size.SMALL, sizes: list[Size] | None = None) -> Error:
    return Error(len(key))


@action(triggers=(WEB_GET,))
def lookup_post() -> int:
    """Named like lookup's second operation would be."""
    return 0


def test_several_triggers_get_unique_operation_ids_and_a_shared_component() -> None:
    doc = build_openapi(app_of(lookup, lookup_post))
    validate(doc)
    assert_refs_resolve(doc)
    ids = {(path, method): op["operationId"] for path, item in doc["paths"].items() for method, op in item.items()}
    assert ids == {
        ("/actions/lookup", "get"): "lookup",
        ("/actions/lookup", "post"): "lookup_post_2",
        ("/lookups/{key}", "get"): "lookup_get",
        ("/actions/lookup-post", "get"): "lookup_post",
    }
    op = operation(doc, "/actions/lookup", "get")
    assert op["summary"] == "Look something up."
    assert op["description"] == "The long description,\nover two lines."
    size = next(p for p in op["parameters"] if p["name"] == "size")
    assert size["schema"] == {"$ref": f"{COMPONENTS}Size", "default": "SMALL"}
    assert size["examples"] == {"big": {"summary": "big", "description": "A large one.", "value": "LARGE"}}
    sizes = next(p for p in op["parameters"] if p["name"] == "sizes")
    assert "schema" in sizes  # a list is given by repeating the key, not as JSON text
    schemas = doc["components"]["schemas"]
    assert schemas["Size"] == {"type": "string", "enum": ["SMALL", "LARGE"]}
    # The user's Error does not replace the framework's error body.
    assert schemas["Error"]["required"] == ["error", "message"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error2"}
    assert schemas["Error2"]["properties"] == {"code": {"type": "integer"}}
    assert op["responses"]["500"]["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
    post = operation(doc, "/actions/lookup", "post")
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"]["application/json"]["examples"]["big"]["value"] == {
        "key": "k",
        "size": "LARGE",
    }
    keyed = operation(doc, "/lookups/{key}", "get")
    assert [(p["name"], p["in"]) for p in keyed["parameters"]] == [
        ("key", "path"),
        ("size", "query"),
        ("sizes", "query"),
    ]


@action(triggers=(WEB_POST,))
def ping() -> str:
    """Answer pong."""
    return "pong"


def test_a_body_operation_without_params_has_no_request_body() -> None:
    doc = build_openapi(app_of(ping))
    validate(doc)
    op = operation(doc, "/actions/ping", "post")
    assert "requestBody" not in op
    assert "parameters" not in op
    assert set(op["responses"]) == {"200", "400", "401", "413", "422", "500", "504"}


# --- access control and caching --------------------------------------------------------------------

BEARER = {"bearerAuth": []}


def secured_app_of(*fns: Any) -> ServeyApp:
    """Like :func:`app_of`, with a JWT key so that protected actions may be served."""
    from servey_faas.authentication import JwtSettings
    from servey_faas.settings import Settings
    from tests.test_authentication import SECRET

    actions = [get_action(fn) for fn in fns]
    assert all(actions)
    registry = ActionRegistry(a for a in actions if a is not None)
    return ServeyApp.from_registry(registry, Settings(jwt=JwtSettings(SECRET)))


@action(
    triggers=(WEB_GET,),
    access_control=ScopeAccessControl("stock:read"),
    cache_control=(TtlCacheControl(60), ETagCacheControl()),
    examples=(Example("tea", {"item": "tea"}, 3),),
)
def stock_level(item: str, authorization: Authorization) -> int:
    """Units in stock: protected and cached."""
    return len(item) if authorization.has_scope("stock:read") else 0


@pytest.fixture(scope="module")
def secured_doc() -> dict[str, Any]:
    from tests.web.test_auth import AUTH_ACTIONS
    from tests.web.test_caching import CACHING_ACTIONS

    return build_openapi(secured_app_of(*AUTH_ACTIONS, *CACHING_ACTIONS, stock_level))


def test_a_document_with_protected_and_cached_actions_is_valid(secured_doc: dict[str, Any]) -> None:
    validate(secured_doc)
    assert_refs_resolve(secured_doc)


def test_the_bearer_scheme_is_declared_only_when_used(secured_doc: dict[str, Any], doc: dict[str, Any]) -> None:
    scheme = secured_doc["components"]["securitySchemes"]["bearerAuth"]
    assert {k: scheme[k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert "securitySchemes" not in doc["components"]
    assert "security" not in doc
    for item in doc["paths"].values():
        for op in item.values():
            assert "security" not in op
            assert not {"304", "403"} & set(op["responses"])


def test_a_scope_protected_operation(secured_doc: dict[str, Any]) -> None:
    op = operation(secured_doc, "/actions/list-orders", "get")
    # OpenAPI 3.1: scopes are listed only for oauth2/openIdConnect schemes; for http bearer the
    # scope is in the description.
    assert op["security"] == [BEARER]
    assert "`orders:read`" in op["description"]
    for status in ("401", "403"):
        response = op["responses"][status]
        assert response["content"]["application/json"]["schema"] == {"$ref": f"{COMPONENTS}Error"}
        assert response["headers"]["WWW-Authenticate"]["schema"] == {"type": "string"}
    post = operation(secured_doc, "/actions/place-order", "post")
    assert post["security"] == [BEARER] and "`orders:write`" in post["description"]


def test_an_authorization_parameter_is_documented_as_security_never_as_a_param(secured_doc: dict[str, Any]) -> None:
    whoami = operation(secured_doc, "/actions/whoami", "get")
    assert whoami["security"] == [BEARER]
    assert "parameters" not in whoami
    assert "401" in whoami["responses"] and "403" not in whoami["responses"]
    greet = operation(secured_doc, "/actions/greet", "get")
    assert greet["security"] == [BEARER, {}]  # optional: anonymous callers are served too
    assert [p["name"] for p in greet["parameters"]] == ["name"]
    stock = operation(secured_doc, "/actions/stock-level", "get")
    assert [p["name"] for p in stock["parameters"]] == ["item", "If-None-Match"]
    for item in secured_doc["paths"].values():
        for op in item.values():
            names = [p["name"].lower() for p in op.get("parameters", [])]
            assert "authorization" not in names
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            assert "authorization" not in body.get("properties", {})


def test_allow_none_documents_a_403_without_security(secured_doc: dict[str, Any]) -> None:
    op = operation(secured_doc, "/actions/internal-only", "get")
    assert "security" not in op
    assert op["responses"]["401"]["description"].startswith("A bearer token was sent and cannot be trusted")
    assert "headers" not in op["responses"]["403"]
    assert "refused over HTTP" in op["description"]


def test_open_operations_have_no_security(secured_doc: dict[str, Any]) -> None:
    op = operation(secured_doc, "/actions/ping", "get")
    assert "security" not in op and "description" not in op
    assert set(op["responses"]) == {"200", "401", "422", "500", "504"}
    refused = op["responses"]["401"]
    assert "A token sent to any operation is verified" in refused["description"]
    assert refused["headers"]["WWW-Authenticate"]["schema"] == {"type": "string"}


def test_a_cacheable_get_documents_its_headers_and_304(secured_doc: dict[str, Any]) -> None:
    op = operation(secured_doc, "/actions/price", "get")
    ok = op["responses"]["200"]
    assert list(ok["headers"]) == ["Cache-Control", "Expires", "ETag"]
    assert ok["headers"]["Cache-Control"]["example"] == "private, max-age=60"
    assert all(h["required"] and h["schema"] == {"type": "string"} for h in ok["headers"].values())
    not_modified = op["responses"]["304"]
    assert not_modified["headers"] == ok["headers"]
    assert "content" not in not_modified
    (if_none_match,) = [p for p in op["parameters"] if p["in"] == "header"]
    assert if_none_match["name"] == "If-None-Match" and not if_none_match["required"]


def test_a_ttl_without_etag_has_no_304_and_no_condition(secured_doc: dict[str, Any]) -> None:
    op = operation(secured_doc, "/actions/catalogue", "get")
    assert list(op["responses"]["200"]["headers"]) == ["Cache-Control", "Expires"]
    assert op["responses"]["200"]["headers"]["Cache-Control"]["example"] == "public, max-age=120"
    assert "304" not in op["responses"] and "parameters" not in op


def test_caching_is_documented_on_get_only(secured_doc: dict[str, Any]) -> None:
    get = operation(secured_doc, "/actions/stock", "get")
    post = operation(secured_doc, "/actions/stock", "post")
    assert "304" in get["responses"] and "headers" in get["responses"]["200"]
    assert "304" not in post["responses"] and "headers" not in post["responses"]["200"]
    assert all(p["in"] != "header" for p in post.get("parameters", []))


def test_a_protected_cacheable_operation_is_private_and_varies(secured_doc: dict[str, Any]) -> None:
    headers = operation(secured_doc, "/actions/report", "get")["responses"]["200"]["headers"]
    assert headers["Cache-Control"]["example"] == "private, max-age=300"
    assert headers["Vary"]["example"] == "Authorization"


async def test_the_documented_headers_are_the_ones_served(secured_doc: dict[str, Any]) -> None:
    from tests.test_authentication import SECRET, sign
    from tests.web.test_auth import AUTH_ACTIONS
    from tests.web.test_caching import CACHING_ACTIONS

    asgi = create_app(secured_app_of(*AUTH_ACTIONS, *CACHING_ACTIONS, stock_level), schedules=False)
    token = {"Authorization": f"Bearer {sign(SECRET, scope='reports:read stock:read')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as client:
        for path, params in (
            ("/actions/price", {"item": "tea"}),
            ("/actions/catalogue", {}),
            ("/actions/report", {}),
            ("/actions/stock-level", {"item": "tea"}),
        ):
            response = await client.get(path, params=params, headers=token)
            assert response.status_code == 200
            documented = operation(secured_doc, path, "get")["responses"]["200"]["headers"]
            served = {name for name in documented if name.lower() in response.headers}
            assert served == set(documented), path
        refused = await client.get("/actions/list-orders")
        assert refused.status_code == 401
        component_validator(secured_doc, "Error").validate(refused.json())
        assert set(operation(secured_doc, "/actions/list-orders", "get")["responses"]["401"]["headers"]) == {
            "WWW-Authenticate"
        }
