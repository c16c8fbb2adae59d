"""The fake gateway's spec checker catches what the spec forbids, and follows
``docs/openfaas.md#where-the-spec-differs-from-the-code``."""

from __future__ import annotations

import json

from servey_faas.faas import FunctionDeployment, FunctionStatus, GatewayInfo, Secret
from servey_faas.testing.spec_check import DEVIATIONS, SpecChecker

JSON = {"content-type": "application/json"}
checker = SpecChecker()


def check(method: str, path: str, body: object = None, query: list[tuple[str, str]] | None = None) -> list[str]:
    raw = b"" if body is None else json.dumps(body).encode()
    return checker.check(method, path, query or [], JSON if body is not None else {}, raw)


def test_our_wire_forms_conform() -> None:
    spec = FunctionDeployment("f", "i", env_vars={"a": "b"}, labels={}, read_only_root_filesystem=True)
    assert check("POST", "/system/functions", spec.to_wire()) == []
    assert check("PUT", "/system/secrets", Secret("k", "ns", raw_value=b"x").to_wire()) == []
    # a namespace in the body (``docs/openfaas.md#where-the-spec-differs-from-the-code``)
    assert check("DELETE", "/system/functions", {"functionName": "f", "namespace": "ns"}) == []
    # ``namespace`` is omitempty (``docs/openfaas.md#deletefunctionrequest-and-scaleservicerequest``)
    assert check("POST", "/system/scale-function/f", {"serviceName": "f", "replicas": 0}) == []
    assert check("GET", "/system/logs", query=[("name", "f"), ("tail", "-1"), ("follow", "true")]) == []


def test_snake_case_and_wrong_types_are_caught() -> None:
    assert check("POST", "/system/functions", {"service": "f", "image": "i", "env_vars": {}})
    assert check("POST", "/system/functions", {"service": "f"})  # image is required
    assert check("POST", "/system/scale-function/f", {"serviceName": "f", "replicas": -1})
    assert check("GET", "/system/logs", query=[("name", "f"), ("since", "2026-01-01T00:00:00")])  # no zone
    assert check("GET", "/system/logs", query=[("follow", "true")])  # name is required
    assert checker.check("POST", "/system/functions", [], {}, b'{"service":"f","image":"i"}')  # not JSON-typed


def test_unknown_routes_and_methods_are_caught() -> None:
    assert check("PATCH", "/system/functions", {"service": "f", "image": "i"})
    assert check("GET", "/system/nothing")
    assert check("GET", "/async-function/f.ns")
    # any method on /function (``docs/openfaas.md#where-the-spec-differs-from-the-code``)
    assert check("DELETE", "/function/f.ns/any/path") == []


def test_the_checker_validates_response_shapes_too() -> None:
    status = FunctionStatus("f", "i", replicas=2).to_wire()
    assert checker.validate(checker.schema("FunctionStatus"), status, "status") == []
    info = GatewayInfo().to_wire()
    assert checker.validate(checker.schema("GatewayInfo"), info, "info") == []
    assert len(DEVIATIONS) >= 4
