"""stack.yml: deterministic YAML that faas-cli reads back unchanged (``docs/openfaas.md#stack-file-fields``,
``docs/openfaas.md#environment-substitution``)."""

from __future__ import annotations

from typing import Any

import pytest

from servey_faas.errors import BuildError
from servey_faas.faas import FunctionDeployment, FunctionResources
from servey_faas.faas.deploy.stack import Stack, StackFunction, dump_document, envsubst, load_document, schema_problems

TRICKY = {
    "BOOL": "true",
    "YES": "yes",
    "OCTAL": "010",
    "DECIMAL": "1.50",
    "NULL": "null",
    "TILDE": "~",
    "EMPTY": "",
    "DOLLAR": "pa$$word and $HOME and ${HOME}",
    "COLON": "a: b # not a comment",
    "QUOTES": 'it\'s "quoted"',
    "NEWLINE": "two\nlines",
    "UNICODE": "héllo ✓",
    "LEADING": "  spaced  ",
    "STAR": "*/5 * * * *",
    "AT": "@every 1m",
}


def deployment(**changes: Any) -> FunctionDeployment:
    base: dict[str, Any] = {
        "service": "echo-fn",
        "image": "registry.example/echo-fn:0123456789ab",
        "namespace": "openfaas-fn",
        "env_process": "python index.py",
        "env_vars": {"exec_timeout": "30s", **TRICKY},
        "secrets": ("api-key",),
        "labels": {"com.openfaas.scale.min": "1", "com.openfaas.scale.zero": "true"},
        "annotations": {"topic": "cron-function", "schedule": "*/5 * * * *"},
        "limits": FunctionResources(memory="128Mi", cpu="100m"),
        "requests": FunctionResources(memory="64Mi"),
        "constraints": ("node.platform.os == linux",),
    }
    return FunctionDeployment(**{**base, **changes})


def test_every_value_reads_back_as_written_after_envsubst() -> None:
    stack = Stack((StackFunction(deployment(), "./serverless/build/echo-fn"),), gateway="http://127.0.0.1:8080")
    document = load_document(stack.dump(), environ={"HOME": "/root"})
    assert document == stack.to_document()
    fn = document["functions"]["echo-fn"]
    assert fn["environment"] == {"exec_timeout": "30s", **TRICKY}  # no YAML 1.1 retyping, no substitution
    assert fn["limits"] == {"memory": "128Mi", "cpu": "100m"}
    assert fn["secrets"] == ["api-key"]
    assert schema_problems(document) == []


def test_text_shape() -> None:
    stack = Stack(
        (StackFunction(deployment(env_vars={"B": "x$y", "A": "1"}), "./build/echo-fn"),),
        header=("Written by a test", "second line"),
    )
    text = stack.dump()
    assert text.startswith('# Written by a test\n# second line\nversion: "1.0"\nprovider:\n  name: "openfaas"\n')
    assert "gateway" not in text  # None: faas-cli falls back to OPENFAAS_URL (``docs/openfaas.md#stack-file-fields``)
    # sorted keys, $ doubled (``docs/openfaas.md#environment-substitution``)
    assert '    environment:\n      A: "1"\n      B: "x$$y"\n' in text
    assert '    lang: "dockerfile"\n    handler: "./build/echo-fn"\n    image: ' in text
    assert "&" not in text and "*id" not in text  # no YAML anchors or aliases


def test_functions_are_sorted_and_the_same_stack_gives_the_same_bytes() -> None:
    names = ["zeta", "alpha", "mid"]
    functions = tuple(StackFunction(deployment(service=n, image=f"{n}:1"), f"./build/{n}") for n in names)
    text = Stack(functions).dump()
    assert list(load_document(text)["functions"]) == ["alpha", "mid", "zeta"]
    assert Stack(tuple(reversed(functions))).dump() == text


def test_empty_fields_are_left_out() -> None:
    bare = FunctionDeployment(service="bare", image="bare:1")
    fn = load_document(Stack((StackFunction(bare, "./build/bare"),)).dump())["functions"]["bare"]
    assert fn == {"lang": "dockerfile", "handler": "./build/bare", "image": "bare:1"}


def test_gpu_limits_cannot_be_written() -> None:
    stack = Stack((StackFunction(deployment(limits=FunctionResources(nvidia_gpu="1")), "./build/x"),))
    with pytest.raises(BuildError, match=r"memory and cpu only, not nvidia\.com/gpu"):
        stack.dump()


def test_duplicate_names_are_refused() -> None:
    fn = StackFunction(deployment(), "./build/echo-fn")
    with pytest.raises(BuildError, match="two functions are named 'echo-fn'"):
        Stack((fn, fn)).dump()


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("a$$b", {}, "a$b"),
        ("$HOME/x", {"HOME": "/h"}, "/h/x"),
        ("${HOME}x", {"HOME": "/h"}, "/hx"),
        ("${MISSING}", {}, ""),
        ("${MISSING:-dflt}", {}, "dflt"),
        ("${SET:-dflt}", {"SET": "v"}, "v"),
        ("${MISSING:=dflt}", {}, "dflt"),
        ("$$HOME", {"HOME": "/h"}, "$HOME"),
        ("cost: 5$", {}, "cost: 5$"),
    ],
)
def test_envsubst(text: str, environ: dict[str, str], expected: str) -> None:
    assert envsubst(text, environ) == expected


def valid() -> dict[str, Any]:
    return {
        "version": "1.0",
        "provider": {"name": "openfaas", "gateway": "http://127.0.0.1:8080"},
        "functions": {"fn": {"lang": "dockerfile", "handler": "./build/fn", "image": "fn:1"}},
    }


def with_function(**fields: Any) -> dict[str, Any]:
    document = valid()
    document["functions"]["fn"].update(fields)
    return document


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({**valid(), "version": "2.0"}, "version must be '1.0'"),
        ({**valid(), "version": 1.0}, "version must be '1.0'"),  # a YAML float is not the string go-sdk wants
        ({**valid(), "provider": {"name": "faas"}}, "provider.name must be 'openfaas'"),
        ({**valid(), "provider": None}, "provider must be a mapping"),
        ({**valid(), "functions": {}}, "functions must be a non-empty mapping"),
        ({**valid(), "extra": 1}, "unknown top-level keys extra"),
        ({**valid(), "functions": {"Bad_Name": {"lang": "dockerfile", "image": "x"}}}, "DNS-1123"),
        (with_function(image=None), "fn.image is required"),
        (with_function(lang=""), "fn.lang is required"),
        (with_function(handler=None), "fn.handler must be a string"),
        (with_function(environment={"A": 1}), "environment must map strings to strings"),
        (with_function(labels={"com.openfaas.scale.min": 1}), "labels must map strings to strings"),
        (with_function(secrets="api-key"), "secrets must be a list of strings"),
        (with_function(limits={"memory": "1Gi", "nvidia.com/gpu": "1"}), "limits takes memory and cpu only"),
        (with_function(readonly_root_filesystem="true"), "must be true or false"),
        # the MAP form (``docs/openfaas.md#stack-file-fields``)
        (with_function(build_args=["A=1"]), "build_args must map strings to strings"),
        (with_function(memory="128Mi"), "unknown keys memory"),
    ],
)
def test_schema_problems(document: dict[str, Any], problem: str) -> None:
    problems = schema_problems(document)
    assert any(problem in p for p in problems), problems


def test_schema_accepts_every_documented_field() -> None:
    document = with_function(
        fprocess="python index.py",
        environment={"A": "1"},
        environment_file=["env.yml"],
        secrets=["api-key"],
        labels={"a": "b"},
        annotations={"topic": "cron-function", "schedule": "*/5 * * * *"},
        limits={"memory": "128Mi", "cpu": "100m"},
        requests={"memory": "64Mi", "cpu": "50m"},
        constraints=["node.platform.os == linux"],
        namespace="openfaas-fn",
        readonly_root_filesystem=True,
        skip_build=True,
        build_args={"PYTHON_VERSION": "3.12"},
        build_options=["dev"],
        build_secrets={"pip_token": ".secrets/pip_token.txt"},
        platforms="linux/amd64,linux/arm64",
    )
    document["configuration"] = {"templates": [{"name": "python3-http"}]}
    assert schema_problems(document) == []


def test_dump_document_keeps_order() -> None:
    assert dump_document({"b": "1", "a": ["x"]}) == 'b: "1"\na:\n- "x"\n'
