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
- ``responses``: ``200`` (the result), ``401`` (``Error``: a bearer token sent to any operation is
  verified, so every operation can refuse one), ``422`` (``ValidationError``), ``400`` and ``413``
  (``Error``, only for operations that read a body: not a JSON object or too deep, too large),
  ``500`` (``Error``), ``504`` (``Error``: past the action's timeout); bodies as in
  :mod:`servey_faas.web.responses`.
- Access control: operations whose action needs a bearer token have ``security: [{"bearerAuth": []}]``
  (``[{"bearerAuth": []}, {}]`` when the action only *accepts* one, through an optional
  ``Authorization`` parameter); a ``403`` is documented whenever the access control can refuse (a
  scope, ``ALLOW_NONE``). ``bearerAuth`` (``type: http``, ``scheme: bearer``,
  ``bearerFormat: JWT``) is in ``components.securitySchemes`` only when an operation uses it. The
  scope a token needs is named in the operation's description, not in the security requirement:
  OpenAPI 3.1's Security Requirement Object lists scopes only for ``oauth2``/``openIdConnect`` schemes, and allows
  role names for other types only when they are "not otherwise exchanged in-band" — a JWT's
  ``scope`` claim is. Both refusals document ``WWW-Authenticate`` (RFC 6750 §3).
- Caching (GET operations of actions with ``cache_control``): the ``200`` documents the headers
  the action sets (``Cache-Control``, ``Expires``, ``ETag``, ``Vary``); with an ETag the operation
  also takes an ``If-None-Match`` header parameter and documents ``304`` (same headers, no body).
- Dataclasses and enums live in ``#/components/schemas/<Name>``; examples appear under
  ``examples`` of the parameters, the request body and the 200 response, keyed by example name.
  An example without a result (``result=None``) is not shown under the 200 unless the result may
  be null: every example shown matches its schema (the invoker checks the others at startup).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from typing import Any

from servey_faas.access_control import ALLOW_ALL, ALLOW_NONE
from servey_faas.app import ServeyApp
from servey_faas.examples import Example
from servey_faas.invocation import ActionInvoker, Parameter
from servey_faas.schemas import COMPONENTS_PREFIX, hoist_components
from servey_faas.web.handling import WebRoute, render_json, web_routes

OPENAPI_VERSION = "3.1.0"
DEFAULT_TITLE = "servey_faas"
JSON_MEDIA_TYPE = "application/json"

#: The name of the bearer JWT security scheme in ``components.securitySchemes``.
BEARER_SCHEME = "bearerAuth"

_ERROR_REF = {"$ref": f"{COMPONENTS_PREFIX}Error"}
_VALIDATION_ERROR_REF = {"$ref": f"{COMPONENTS_PREFIX}ValidationError"}


def openapi_bytes(
    app: ServeyApp, *, title: str = DEFAULT_TITLE, version: str | None = None, description: str | None = None
) -> bytes:
    """What ``GET /openapi.json`` answers: :func:`build_openapi` as compact UTF-8 JSON.

    :raises ActionDefinitionError: from building the document.
    """
    return render_json(build_openapi(app, title=title, version=version, description=description))


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
    if builder.uses_bearer:
        document["components"]["securitySchemes"] = {BEARER_SCHEME: _bearer_scheme()}
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
        #: True once an operation refers to the bearer security scheme.
        self.uses_bearer = False

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
        access_note = _access_note(invoker)
        if details or access_note:
            op["description"] = "\n\n".join(part for part in (details, access_note) if part)
        op["operationId"] = operation_id
        examples = [(e, invoker.example_params(e.params)) for e in action.examples]
        parameters = [
            self._parameter(route, p, examples) for p in invoker.params if route.location_of(p.name) != "body"
        ]
        cache_control = route.cache_control
        if cache_control is not None and cache_control.uses_etag:
            parameters.append(_IF_NONE_MATCH)
        if parameters:
            op["parameters"] = parameters
        body_params = [p for p in invoker.params if route.location_of(p.name) == "body"]
        if route.trigger.reads_body and body_params:
            op["requestBody"] = self._request_body(body_params, examples)
        op["responses"] = self._responses(route, invoker)
        if route.depends_on_token:
            self.uses_bearer = True
            op["security"] = [{BEARER_SCHEME: []}] if invoker.requires_token else [{BEARER_SCHEME: []}, {}]
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
        shown = [e for e in invoker.action.examples if e.result is not None]
        if len(shown) < len(invoker.action.examples) and invoker.codec.validator(invoker.result_schema).is_valid(None):
            shown = list(invoker.action.examples)  # None is a result of this action, not a missing one
        result_examples = {e.name: _example_object(e, invoker.example_result(e.result)) for e in shown}
        if result_examples:
            media["examples"] = result_examples
        ok: dict[str, Any] = {"description": "The action's result."}
        cache_headers = _cache_headers(route)
        if cache_headers:
            ok["headers"] = cache_headers
        ok["content"] = {JSON_MEDIA_TYPE: media}
        responses: dict[str, Any] = {"200": ok}
        cache_control = route.cache_control
        if cache_control is not None and cache_control.uses_etag:
            responses["304"] = {
                "description": "Not Modified: `If-None-Match` matched the current ETag (RFC 9110 §15.4.5). "
                "No body; the caching headers are those of a 200.",
                "headers": deepcopy(cache_headers),
            }
        if route.trigger.reads_body:
            responses["400"] = _error_response(
                "The body is not a JSON object (malformed JSON, another content type or a non-object value), "
                "or it is nested deeper than the server's limit (`SERVEY_MAX_JSON_DEPTH`, 64 levels by default).",
                _ERROR_REF,
            )
            responses["413"] = _error_response(
                "The body is larger than the server's limit (`SERVEY_MAX_BODY_BYTES`, 1 MiB by default; "
                "`error` is `payload_too_large`).",
                _ERROR_REF,
            )
        responses["401"] = _error_response(
            (
                "No bearer token where one is needed, or one that is malformed, badly signed, expired, not yet "
                "valid or whose claims have the wrong types (`error` is `unauthorized`)."
                if route.depends_on_token
                else "A bearer token was sent and cannot be trusted: malformed, badly signed, expired, not yet "
                "valid or with claims of the wrong types. A token sent to any operation is verified, even where "
                "none is needed (`error` is `unauthorized`)."
            ),
            _ERROR_REF,
            headers={"WWW-Authenticate": _WWW_AUTHENTICATE_401},
        )
        access = invoker.action.access_control
        if access is not None and access is not ALLOW_ALL:
            forbidden = _error_response(
                "The token is valid but lacks the scope this action needs (`error` is `forbidden`)."
                if access.scopes
                else "The call is refused whatever the token (`error` is `forbidden`).",
                _ERROR_REF,
                headers={"WWW-Authenticate": _WWW_AUTHENTICATE_403} if access.scopes else None,
            )
            responses["403"] = forbidden
        responses["422"] = _error_response(
            "The params do not match their schema; every invalid field is listed.", _VALIDATION_ERROR_REF
        )
        responses["500"] = _error_response(
            "The action failed; details are in the server log, never in the response.", _ERROR_REF
        )
        responses["504"] = _error_response(
            f"The action did not return within its timeout of {invoker.action.timeout:g} s "
            "(`error` is `gateway_timeout`).",
            _ERROR_REF,
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
                    "description": "Machine-readable code, e.g. `bad_request`, `unauthorized`, `forbidden`, "
                    "`internal_error`.",
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


def _error_response(
    description: str, schema: Mapping[str, Any], headers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = dict(headers)
    response["content"] = {JSON_MEDIA_TYPE: {"schema": dict(schema)}}
    return response


# --- access control and caching --------------------------------------------------------------------


def _bearer_scheme() -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT in `Authorization: Bearer <token>` (RFC 6750 §2.1), signed with the server's key "
        "(HS256, RS256 or ES256), with `exp` and optionally `sub`, `nbf`, `iss`, `aud` and `scope` "
        "(space-separated scopes). A token sent to any operation is verified: an invalid one is answered 401.",
    }


_WWW_AUTHENTICATE_401 = {
    "description": 'The bearer challenge (RFC 6750 §3): `Bearer realm="servey_faas"`, followed by '
    '`error="invalid_token"` and `error_description` when a token was sent.',
    "schema": {"type": "string"},
    "example": 'Bearer realm="servey_faas", error="invalid_token", error_description="the bearer token has expired"',
}
_WWW_AUTHENTICATE_403 = {
    "description": 'The bearer challenge (RFC 6750 §3) naming the scope needed: `Bearer realm="servey_faas", '
    'error="insufficient_scope", error_description="...", scope="<scope>"`.',
    "schema": {"type": "string"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags from earlier responses (a comma-separated list, or `*`); when one matches the current "
    "ETag (weak comparison, RFC 9110 §13.1.2) the answer is 304 with no body.",
    "schema": {"type": "string"},
}
_HEADER_DESCRIPTIONS = {
    "Cache-Control": "How long, and by whom, the result may be cached (RFC 9111 §5.2); `private` unless the "
    "action asks for `public` and its result does not depend on the caller's token.",
    "Expires": "When the result goes stale, as an HTTP date (RFC 9111 §5.3).",
    "ETag": "A strong entity tag of the response body (RFC 9110 §8.8.3), for `If-None-Match`.",
    "Vary": "`Authorization`: the result depends on the caller's bearer token (RFC 9110 §12.5.5).",
}


def _cache_headers(route: WebRoute) -> dict[str, Any]:
    """The headers a cacheable GET operation answers with, read off its cache control once."""
    cache_control = route.cache_control
    if cache_control is None:
        return {}
    sample = cache_control.headers(b"")
    if route.depends_on_token:
        sample["Vary"] = "Authorization"
    headers: dict[str, Any] = {}
    for name in sample:
        header: dict[str, Any] = {}
        if name in _HEADER_DESCRIPTIONS:
            header["description"] = _HEADER_DESCRIPTIONS[name]
        header["required"] = True
        header["schema"] = {"type": "string"}
        if name in ("Cache-Control", "Vary"):
            header["example"] = sample[name]
        headers[name] = header
    return headers


def _access_note(invoker: ActionInvoker) -> str | None:
    """A sentence of the operation's description saying who may call it."""
    access = invoker.action.access_control
    if access is ALLOW_NONE:
        return "**Access:** refused over HTTP (403) for every caller; the action runs only in-process."
    if access is not None and access.scopes:
        scopes = ", ".join(f"`{s}`" for s in access.scopes)
        return (
            f"**Access:** a bearer token (JWT) with the scope {scopes}; "
            "401 without a valid token, 403 without the scope."
        )
    if invoker.requires_token:
        return "**Access:** a valid bearer token (JWT); 401 without one."
    if invoker.authorization_param is not None:
        return "**Access:** open; a bearer token (JWT), when sent, identifies the caller (401 if it is invalid)."
    return None


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
