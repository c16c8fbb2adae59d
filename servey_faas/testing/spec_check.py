"""Check requests against the official gateway spec (``gateway-spec.openapi.yml``, OpenAPI 3.0).

Used by the fake gateway so that every request a client sends is held to the spec: the path
and method must be an operation of the spec, required query parameters must be there with the
declared types and formats, and a JSON body must be ``application/json`` and valid against its
schema. Object schemas are checked strictly (no properties beyond the declared ones) so that a
misspelt wire name (``env_process`` for ``envProcess``) is caught.

Where ``docs/openfaas.md#where-the-spec-differs-from-the-code`` (or ``docs/openfaas.md#body-types``) records that the
running gateway differs from the spec, the checker follows the code, and says so in :data:`DEVIATIONS`.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

SPEC_RESOURCE = "gateway-spec.openapi.yml"

#: Where the checker follows the running gateway instead of the spec
#: (``docs/openfaas.md#where-the-spec-differs-from-the-code``), each with the page section that describes it.
DEVIATIONS = (
    "DeleteFunctionRequest also takes `namespace` (Go omitempty) "
    "— docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest",
    "ScaleServiceRequest.namespace is optional (Go omitempty) "
    "— docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest",
    "/function/{name}[.{ns}][/sub/path] takes any method the provider allows; name and name.ns are one route "
    "— docs/openfaas.md#url-rules",
    "/async-function/{name}[.{ns}][/sub/path] is one route (POST only) — docs/openfaas.md#enqueueing-an-async-call",
    "/system/namespace/{ns} and /system/namespace/ (Enterprise namespace CRUD, FunctionNamespace body) "
    "— docs/openfaas.md#routes, docs/openfaas.md#functionnamespace",
    "/oauth/token (Enterprise IAM, RFC 8693 form) — docs/openfaas.md#token-exchange",
    "GET /.well-known/openid-configuration and /.well-known/jwks.json (Enterprise IAM: OpenID Connect Discovery "
    "1.0, RFC 7517) — docs/openfaas.md#iam-and-function-tokens",
)
#: The Enterprise IAM documents, read with GET.
_IAM_DOCUMENTS = ("/.well-known/openid-configuration", "/.well-known/jwks.json")

_FUNCTION_NAMESPACE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

_INVOKE = re.compile(r"^/(function|async-function)/([-a-zA-Z_0-9.]+)(/.*)?$")


@functools.cache
def load_spec() -> dict[str, Any]:
    """The gateway spec shipped with servey_faas (a copy of the official one), parsed."""
    import yaml

    text = resources.files("servey_faas.testing").joinpath(SPEC_RESOURCE).read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: Mapping[str, Any]


class SpecChecker:
    """Validates requests against ``spec`` (default: :func:`load_spec`). Build once; thread-safe."""

    def __init__(self, spec: Mapping[str, Any] | None = None) -> None:
        self.spec = dict(spec or load_spec())
        self._components: dict[str, Any] = self.spec.get("components", {}).get("schemas", {})
        self._components = {**self._components, **self._patched_components()}
        self._operations: list[_Operation] = []
        for template, item in self.spec.get("paths", {}).items():
            regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            for method, operation in item.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    self._operations.append(_Operation(method.upper(), template, re.compile(regex), operation))

    def _patched_components(self) -> dict[str, Any]:
        patched: dict[str, Any] = {}
        delete = copy.deepcopy(self._components["DeleteFunctionRequest"])
        delete["properties"]["namespace"] = {"type": "string"}
        patched["DeleteFunctionRequest"] = delete
        scale = copy.deepcopy(self._components["ScaleServiceRequest"])
        scale["required"] = [r for r in scale["required"] if r != "namespace"]
        patched["ScaleServiceRequest"] = scale
        return patched

    # --- schemas -------------------------------------------------------------------------------

    def schema(self, name: str) -> dict[str, Any]:
        """Component ``name`` with ``$ref``s inlined, ``allOf``s of objects merged and objects
        made strict (``additionalProperties: false`` where the spec says nothing)."""
        schema: dict[str, Any] = self._strict(self._resolve({"$ref": f"#/components/schemas/{name}"}))
        return schema

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return self._resolve(self._components[ref.rsplit("/", 1)[1]])
        return {k: self._resolve(v) for k, v in node.items()}

    def _strict(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._strict(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = {k: self._strict(v) for k, v in node.items()}
        parts = node.get("allOf")
        if isinstance(parts, list) and parts and all(isinstance(p, dict) and "properties" in p for p in parts):
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            merged.setdefault("type", "object")
            merged["properties"] = {k: v for p in parts for k, v in p["properties"].items()}
            merged["required"] = [r for p in parts for r in p.get("required", [])]
            merged["additionalProperties"] = False
            return merged
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node

    def validate(self, schema: Mapping[str, Any], instance: Any, where: str) -> list[str]:
        """Violations of ``instance`` against an OpenAPI 3.0 ``schema`` (``nullable`` honoured)."""
        from openapi_schema_validator import OAS30Validator, oas30_format_checker

        validator = OAS30Validator(dict(schema), format_checker=oas30_format_checker)
        return [
            f"{where}{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    # --- requests ------------------------------------------------------------------------------

    def check(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[str]:
        """The spec violations of one request (empty when it conforms). ``headers`` lower-case."""
        match = _INVOKE.match(path)
        if match is not None:
            if match.group(1) == "async-function" and method != "POST":
                return [f"{method} {path}: /async-function takes POST only"]
            return []
        if path == "/oauth/token":
            return self._check_token_request(method, headers, body)
        if path in _IAM_DOCUMENTS:
            return [] if method == "GET" and not body else [f"{method} {path}: takes GET without a body"]
        if path == "/system/namespace/" or path.startswith("/system/namespace/"):
            return self._check_namespace_request(method, path, headers, body)
        for op in self._operations:
            found = op.pattern.match(path)
            if found is None or op.method != method:
                continue
            return self._check_operation(op, query, headers, body)
        if any(op.pattern.match(path) for op in self._operations):
            return [f"{method} {path}: the spec has no {method} for this path"]
        return [f"{method} {path}: not a path of the spec"]

    def _check_operation(
        self, op: _Operation, query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        where = f"{op.method} {op.template}"
        problems: list[str] = []
        given = dict(query)
        for param in op.operation.get("parameters", []):
            if param.get("in") != "query":
                continue
            name = param["name"]
            if name not in given:
                if param.get("required"):
                    problems.append(f"{where}: query parameter {name!r} is required")
                continue
            problems.extend(_check_query_value(where, name, given[name], param.get("schema", {})))
        request_body = op.operation.get("requestBody")
        if request_body is None:
            if body:
                problems.append(f"{where}: takes no request body")
            return problems
        if not body:
            if request_body.get("required"):
                problems.append(f"{where}: a request body is required")
            return problems
        content = request_body.get("content", {})
        if "application/json" in content:
            if "application/json" not in headers.get("content-type", ""):
                problems.append(f"{where}: the body must be sent as application/json")
            try:
                data = json.loads(body)
            except ValueError as e:
                return [*problems, f"{where}: the body is not JSON ({e})"]
            ref = content["application/json"].get("schema", {}).get("$ref", "")
            schema = self.schema(ref.rsplit("/", 1)[1]) if ref else content["application/json"].get("schema", {})
            problems.extend(self.validate(schema, data, f"{where} body"))
        return problems

    def _check_namespace_request(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> list[str]:
        where = f"{method} {path}"
        if path == "/system/namespace/":
            if method != "POST":
                return [f"{where}: only POST creates a namespace at /system/namespace/"]
        elif method == "GET":
            return [f"{where}: takes no request body"] if body else []
        elif method not in ("PUT", "DELETE"):
            return [f"{where}: not a namespace operation"]
        if not body:
            return [f"{where}: the body must carry the namespace name"]
        if "application/json" not in headers.get("content-type", ""):
            return [f"{where}: the body must be sent as application/json"]
        try:
            data = json.loads(body)
        except ValueError as e:
            return [f"{where}: the body is not JSON ({e})"]
        problems = self.validate(_FUNCTION_NAMESPACE_SCHEMA, data, f"{where} body")
        name = path.removeprefix("/system/namespace/")
        if name and isinstance(data, dict) and data.get("name") != name:
            problems.append(f"{where}: body name {data.get('name')!r} differs from the path's {name!r}")
        return problems

    def _check_token_request(self, method: str, headers: Mapping[str, str], body: bytes) -> list[str]:
        from urllib.parse import parse_qsl

        if method != "POST":
            return [f"{method} /oauth/token: takes POST only (RFC 6749 §3.2)"]
        if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
            return ["POST /oauth/token: the body must be application/x-www-form-urlencoded (RFC 8693 §2.1)"]
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        keys = [k for k, _ in form]
        problems = [
            f"POST /oauth/token: {k} is required"
            for k in ("grant_type", "subject_token", "subject_token_type")
            if k not in keys
        ]
        problems.extend(
            f"POST /oauth/token: {k} given twice" for k in set(keys) if keys.count(k) > 1 and k != "audience"
        )
        return problems


def _check_query_value(where: str, name: str, value: str, schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return [f"{where}: query parameter {name}={value!r} is not an integer"]
    elif kind == "boolean":
        if value not in ("true", "false"):
            return [f"{where}: query parameter {name}={value!r} is not a boolean (true/false)"]
    elif kind == "string" and schema.get("format") == "date-time":
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            return [f"{where}: query parameter {name}={value!r} is not an RFC 3339 date-time with a zone"]
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            return [f"{where}: query parameter {name}={value!r} is not a valid date-time"]
    return []
