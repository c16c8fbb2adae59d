"""The OpenAPI 3.1 document of an app: one operation per (action, web trigger).

Built once at startup (:func:`servey_faas.web.docs.docs_routes` serves the cached bytes at
``/openapi.json``); nothing here runs per request. Paths, methods and where each parameter is read
from come from :func:`servey_faas.web.rest.web_routes`, the same walk that builds the REST routes,
so the document and the routes cannot disagree.

Shape of one operation (OpenAPI 3.1.0, https://spec.openapis.org/oas/v3.1.0):

- ``operationId``: the action name; an action's second and later web triggers get
  ``<name>_<method>`` (then ``_2``, ``_3``… if that is taken).
- ``summary`` / ``description``: the first line / the rest of the action's description.
- ``parameters``: GET and DELETE read every param from the query string (objects as JSON text,
  lists by repeating the key); ``{placeholders}`` are ``in: path`` and required.
- ``requestBody``: POST, PUT and PATCH take a JSON object of the params that are not in the path.
- ``responses``: ``200`` (the result), ``422`` (``ValidationError``), ``400`` (``Error``, only for
  operations that read a body), ``500`` (``Error``); bodies as in :mod:`servey_faas.web.responses`.
- Dataclasses and enums live in ``#/components/schemas/<Name>``; examples appear under
  ``examples`` of the parameters, the request body and the 200 response, keyed by example name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from typing import Any

from servey_faas.app import ServeyApp
from servey_faas.examples import Example
from servey_faas.invocation import ActionInvoker, Parameter
from servey_faas.schemas import COMPONENTS_PREFIX, hoist_components
from servey_faas.web.rest import WebRoute, web_routes

OPENAPI_VERSION = "3.1.0"
DEFAULT_TITLE = "servey_faas"
JSON_MEDIA_TYPE = "application/json"

_ERROR_REF = {"$ref": f"{COMPONENTS_PREFIX}Error"}
_VALIDATION_ERROR_REF = {"$ref": f"{COMPONENTS_PREFIX}ValidationError"}


def build_openapi(
    app: ServeyApp,
    *,
    title: str = DEFAULT_TITLE,
    version: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1.0 document of every web-triggered action of ``app``, as a JSON-ready dict.

    ``title`` and ``version`` fill ``info`` (``version`` defaults to the servey_faas package
    version); ``description`` is optional Markdown. Build it once and serve the result.

    :raises ActionDefinitionError: when a path placeholder names no parameter, or two triggers claim
        one method and path (from :func:`~servey_faas.web.rest.web_routes`).
    """
    if version is None:
        from servey_faas import __version__

        version = __version__
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    builder = _DocumentBuilder()
    routes = list(web_routes(app.invokers))
    operation_ids = _operation_ids(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route, operation_id in zip(routes, operation_ids, strict=True):
        paths.setdefault(route.path, {})[route.method.lower()] = builder.operation(route, operation_id)
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
    if builder.tags:
        document["tags"] = [_tag(name, doc) for name, doc in builder.tags.items()]
    document["paths"] = paths
    document["components"] = {"schemas": dict(sorted(builder.schemas.items()))}
    return document


def _operation_ids(routes: Iterable[WebRoute]) -> list[str]:
    """Action names, and ``<name>_<method>`` for an action's second and later triggers, all unique."""
    routes = list(routes)
    taken = {r.invoker.name for r in routes}
    seen_actions: set[str] = set()
    ids: list[str] = []
    for route in routes:
        name = route.invoker.name
        if name not in seen_actions:
            seen_actions.add(name)
            ids.append(name)
            continue
        candidate = base = f"{name}_{route.method.lower()}"
        n = 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        ids.append(candidate)
    return ids


def _tag(name: str, doc: str | None) -> dict[str, Any]:
    tag: dict[str, Any] = {"name": name}
    if doc:
        tag["description"] = doc
    return tag


class _DocumentBuilder:
    """Operations of one document and the components and tags they share."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = _error_components()
        self.tags: dict[str, str | None] = {}

    def operation(self, route: WebRoute, operation_id: str) -> dict[str, Any]:
        invoker = route.invoker
        action = invoker.action
        op: dict[str, Any] = {}
        tag = self._tag_for(action.fn)
        if tag:
            op["tags"] = [tag]
        summary, details = _split_description(action.description)
        if summary:
            op["summary"] = summary
        if details:
            op["description"] = details
        op["operationId"] = operation_id
        examples = [(e, invoker.example_params(e.params)) for e in action.examples]
        parameters = [
            self._parameter(route, p, examples) for p in invoker.params if route.location_of(p.name) != "body"
        ]
        if parameters:
            op["parameters"] = parameters
        body_params = [p for p in invoker.params if route.location_of(p.name) == "body"]
        if route.trigger.reads_body and body_params:
            op["requestBody"] = self._request_body(body_params, examples)
        op["responses"] = self._responses(route, invoker)
        return op

    def _tag_for(self, fn: Callable[..., Any]) -> str | None:
        """The last component of the action's module name, described by the module's docstring."""
        module_name = getattr(fn, "__module__", None)
        if not isinstance(module_name, str) or not module_name:
            return None
        tag = module_name.rsplit(".", 1)[-1]
        if tag not in self.tags:
            module = sys.modules.get(module_name)
            self.tags[tag] = _first_line(getattr(module, "__doc__", None))
        return tag

    def _parameter(
        self, route: WebRoute, param: Parameter, examples: list[tuple[Example, dict[str, Any]]]
    ) -> dict[str, Any]:
        location = route.location_of(param.name)
        # A path segment is always there: a function default never applies to it.
        schema = self.param_schema(param, keep_default=location != "path")
        spec: dict[str, Any] = {"name": param.name, "in": location, "required": location == "path" or param.required}
        param_examples = {
            e.name: _example_object(e, params[param.name]) for e, params in examples if param.name in params
        }
        if location == "query" and _is_json_encoded(param.schema):
            media: dict[str, Any] = {"schema": schema}
            if param_examples:
                media["examples"] = param_examples
            spec["content"] = {JSON_MEDIA_TYPE: media}
            return spec
        spec["schema"] = schema
        if param_examples:
            spec["examples"] = param_examples
        return spec

    def _request_body(self, params: list[Parameter], examples: list[tuple[Example, dict[str, Any]]]) -> dict[str, Any]:
        names = {p.name for p in params}
        schema = {
            "type": "object",
            "properties": {p.name: self.param_schema(p) for p in params},
            "required": [p.name for p in params if p.required],
            "additionalProperties": False,
        }
        media: dict[str, Any] = {"schema": schema}
        body_examples = {e.name: _example_object(e, {k: v for k, v in ps.items() if k in names}) for e, ps in examples}
        if body_examples:
            media["examples"] = body_examples
        return {
            "description": "The action's params as one JSON object.",
            "required": any(p.required for p in params),
            "content": {JSON_MEDIA_TYPE: media},
        }

    def _responses(self, route: WebRoute, invoker: ActionInvoker) -> dict[str, Any]:
        media: dict[str, Any] = {"schema": self.hoist(invoker.result_schema, "#")}
        result_examples = {
            e.name: _example_object(e, invoker.example_result(e.result)) for e in invoker.action.examples
        }
        if result_examples:
            media["examples"] = result_examples
        responses: dict[str, Any] = {
            "200": {"description": "The action's result.", "content": {JSON_MEDIA_TYPE: media}},
        }
        if route.trigger.reads_body:
            responses["400"] = _error_response(
                "The body is not a JSON object (malformed JSON, another content type or a non-object value).",
                _ERROR_REF,
            )
        responses["422"] = _error_response(
            "The params do not match their schema; every invalid field is listed.", _VALIDATION_ERROR_REF
        )
        responses["500"] = _error_response(
            "The action failed; details are in the server log, never in the response.", _ERROR_REF
        )
        return responses

    def param_schema(self, param: Parameter, *, keep_default: bool = True) -> Any:
        """A parameter's schema with its components hoisted; its default stays beside the ``$ref``."""
        schema = dict(param.schema)
        has_default = "default" in schema
        default = schema.pop("default", None)
        hoisted = self.hoist(schema, f"#/properties/{param.name}")
        if has_default and keep_default:
            hoisted = {**hoisted, "default": default}
        return hoisted

    def hoist(self, schema: Mapping[str, Any], path: str) -> Any:
        """``schema`` (generated at ``path``) with dataclasses and enums moved to the components."""
        prepared = _prepare(deepcopy(dict(schema)), path, self.schemas)
        return hoist_components(prepared, self.schemas, path)


def _error_components() -> dict[str, Any]:
    """``Error``, ``FieldError`` and ``ValidationError``: the bodies of servey_faas.web.responses."""
    return {
        "Error": {
            "type": "object",
            "description": "An error answered instead of a result.",
            "properties": {
                "error": {
                    "type": "string",
                    "description": "Machine-readable code, e.g. `bad_request`, `internal_error`.",
                },
                "message": {"type": "string", "description": "Human-readable explanation."},
            },
            "required": ["error", "message"],
        },
        "FieldError": {
            "type": "object",
            "description": "One invalid field.",
            "properties": {
                "location": {
                    "type": "array",
                    "items": {"type": ["string", "integer"]},
                    "description": "Where the field is: `query`, `path` or `body`, then the keys and indexes to it.",
                },
                "message": {"type": "string"},
            },
            "required": ["location", "message"],
        },
        "ValidationError": {
            "type": "object",
            "description": "The params do not match their schema.",
            "properties": {
                "error": {"const": "validation_error"},
                "message": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": f"{COMPONENTS_PREFIX}FieldError"}},
            },
            "required": ["error", "message", "errors"],
        },
    }


def _error_response(description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": dict(schema)}}}


def _example_object(example: Example, value: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"summary": example.name}
    if example.description:
        obj["description"] = example.description
    obj["value"] = value
    return obj


def _split_description(text: str | None) -> tuple[str | None, str | None]:
    if not text or not text.strip():
        return None, None
    first, _, rest = text.strip().partition("\n")
    return first.strip(), (rest.strip() or None)


def _first_line(text: str | None) -> str | None:
    return _split_description(text)[0]


def _is_json_encoded(schema: Mapping[str, Any]) -> bool:
    """True when a query parameter of ``schema`` is read as JSON text (see servey_faas.web.params)."""
    if schema.get("type") == "array":
        return False
    if schema.get("type") == "object" or "$ref" in schema:
        return True
    branches = [b for b in schema.get("anyOf", ()) if isinstance(b, Mapping)]
    if any(b.get("type") == "array" for b in branches):
        return False
    return any(b.get("type") == "object" or "$ref" in b for b in branches)


# --- Preparing schemey schemas for hoisting -------------------------------------------------------

_SINGLE_SUBSCHEMA = (
    "additionalProperties",
    "items",
    "not",
    "contains",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_LIST_SUBSCHEMAS = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP_SUBSCHEMAS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _prepare(schema: Any, path: str, components: dict[str, Any]) -> Any:
    """Ready a schemey schema for :func:`hoist_components` (in place; returns it).

    - Enums (``{"name": N, "enum": [...]}``) move to ``components[N]`` (typed ``string`` when every
      value is a string); their place keeps any ``default``/``description`` beside a ``$ref``, and
      ``$ref``s that pointed at them follow.
    - The description the ``dataclass`` decorator invents (``Name(field: type, ...)``) is dropped.
    - Any other non-standard ``name`` key is removed; dataclasses keep theirs for hoisting.
    """
    moved: dict[str, str] = {}

    def visit(node: dict[str, Any], loc: str) -> dict[str, Any]:
        name = node.get("name")
        if isinstance(name, str):
            if _is_dataclass_schema(node):
                if _is_generated_description(name, node.get("description")):
                    del node["description"]
            elif isinstance(node.get("enum"), list):
                target = _add_component(components, name, _enum_component(node["enum"]))
                moved[loc] = target
                return {"$ref": target, **{k: v for k, v in node.items() if k not in ("name", "enum")}}
            else:
                del node["name"]
        return node

    schema = _walk(schema, path, visit)
    if moved:
        schema = _walk(schema, path, lambda node, loc: _retarget(node, moved))
    return schema


def _walk(node: Any, loc: str, visit: Callable[[dict[str, Any], str], dict[str, Any]]) -> Any:
    """Apply ``visit`` to every schema in ``node`` (children first), following JSON Schema keywords only."""
    if not isinstance(node, dict):
        return node
    for key in _SINGLE_SUBSCHEMA:
        if key in node:
            node[key] = _walk(node[key], f"{loc}/{key}", visit)
    for key in _LIST_SUBSCHEMAS:
        if isinstance(node.get(key), list):
            node[key] = [_walk(v, f"{loc}/{key}/{i}", visit) for i, v in enumerate(node[key])]
    for key in _MAP_SUBSCHEMAS:
        if isinstance(node.get(key), dict):
            node[key] = {k: _walk(v, f"{loc}/{key}/{k}", visit) for k, v in node[key].items()}
    return visit(node, loc)


def _retarget(node: dict[str, Any], moved: Mapping[str, str]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref in moved:
        node["$ref"] = moved[ref]
    return node


def _is_dataclass_schema(node: Mapping[str, Any]) -> bool:
    # The same test hoist_components uses to recognise a dataclass.
    return isinstance(node.get("name"), str) and node.get("type") == "object" and "properties" in node


def _is_generated_description(name: str, description: Any) -> bool:
    return (
        isinstance(description, str) and re.fullmatch(rf"{re.escape(name)}\(.*\)", description, re.DOTALL) is not None
    )


def _enum_component(values: list[Any]) -> dict[str, Any]:
    component: dict[str, Any] = {}
    if values and all(isinstance(v, str) for v in values):
        component["type"] = "string"
    component["enum"] = list(values)
    return component


def _add_component(components: dict[str, Any], name: str, body: Any) -> str:
    """Store ``body`` as ``components[name]`` (``name2``, ``name3``… when another body has the name)."""
    key = name
    n = 1
    while key in components and components[key] != body:
        n += 1
        key = f"{name}{n}"
    components[key] = body
    return f"{COMPONENTS_PREFIX}{key}"
