"""The faas-cli stack file (``stack.yml``): its model, deterministic writing, and its schema rules.

The fields and rules are those of go-sdk ``stack/schema.go`` as ``docs/openfaas.md#stack-file-fields`` describes them;
faas-cli runs ``envsubst`` over the whole text before parsing it (``docs/openfaas.md#environment-substitution``), so
every ``$`` written is doubled. Written with PyYAML: every string value double-quoted (faas-cli decodes scalars by their
literal text, ``docs/openfaas.md#stack-file-fields``, so quoting keeps ``"true"``, ``"010"`` or ``"1.50"`` exactly as
meant), keys in a fixed order, no timestamps: the same stack always gives the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from servey_faas.errors import BuildError
from servey_faas.faas.client.models import FunctionDeployment, FunctionResources

#: ``lang`` of a function whose handler folder holds its own Dockerfile (``docs/openfaas.md#stack-file-fields``,
#: ``docs/openfaas.md#shrinkwrap-layout``).
DOCKERFILE_LANG = "dockerfile"
#: The only ``provider.name`` faas-cli accepts (``docs/openfaas.md#stack-file-fields``).
PROVIDER_NAME = "openfaas"
#: The only ``version`` faas-cli accepts (``docs/openfaas.md#stack-file-fields``).
STACK_VERSION = "1.0"

#: Function keys of the stack schema (``docs/openfaas.md#stack-file-fields``), in the order they are written.
FUNCTION_KEYS = (
    "lang",
    "handler",
    "image",
    "fprocess",
    "namespace",
    "environment",
    "environment_file",
    "secrets",
    "labels",
    "annotations",
    "limits",
    "requests",
    "constraints",
    "readonly_root_filesystem",
    "skip_build",
    "build_args",
    "build_options",
    "build_secrets",
    "platforms",
)
_STRING_KEYS = frozenset({"lang", "handler", "image", "fprocess", "namespace", "platforms"})
_MAP_KEYS = frozenset({"environment", "labels", "annotations", "build_args", "build_secrets"})
_LIST_KEYS = frozenset({"environment_file", "secrets", "constraints", "build_options"})
_BOOL_KEYS = frozenset({"readonly_root_filesystem", "skip_build"})
#: The only keys of ``limits`` and ``requests`` in a stack file (``docs/openfaas.md#stack-file-fields``).
RESOURCE_KEYS = ("memory", "cpu")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class StackFunction:
    """One entry of ``functions:``: a :class:`FunctionDeployment` plus how faas-cli builds it.

    ``lang`` is ``dockerfile`` (the handler folder is the build context root, ``docs/openfaas.md#shrinkwrap-layout``);
    ``handler`` is that folder, relative to the folder faas-cli runs in.
    """

    deployment: FunctionDeployment
    handler: str
    lang: str = DOCKERFILE_LANG

    @property
    def name(self) -> str:
        return self.deployment.service

    def to_document(self) -> dict[str, Any]:
        """The function's mapping, keys in :data:`FUNCTION_KEYS` order, empty fields left out.

        :raises BuildError: when ``limits``/``requests`` name a GPU (stack files take memory and
            cpu only, ``docs/openfaas.md#stack-file-fields``).
        """
        d = self.deployment
        doc: dict[str, Any] = {"lang": self.lang, "handler": self.handler, "image": d.image}
        if d.env_process:
            doc["fprocess"] = d.env_process
        if d.namespace:
            doc["namespace"] = d.namespace
        if d.env_vars:
            doc["environment"] = _sorted_map(d.env_vars)
        if d.secrets:
            doc["secrets"] = list(d.secrets)
        if d.labels:
            doc["labels"] = _sorted_map(d.labels)
        if d.annotations:
            doc["annotations"] = _sorted_map(d.annotations)
        for key, resources in (("limits", d.limits), ("requests", d.requests)):
            if resources is not None and resources.to_wire():
                doc[key] = _resources(self.name, key, resources)
        if d.constraints:
            doc["constraints"] = list(d.constraints)
        if d.read_only_root_filesystem:
            doc["readonly_root_filesystem"] = True
        return doc


@dataclass(frozen=True)
class Stack:
    """A whole stack file: the provider (``gateway`` may be None: faas-cli then uses
    ``OPENFAAS_URL`` or ``http://127.0.0.1:8080``, ``docs/openfaas.md#stack-file-fields``) and the functions, by
    name."""

    functions: tuple[StackFunction, ...]
    gateway: str | None = None
    header: tuple[str, ...] = field(default=())

    def to_document(self) -> dict[str, Any]:
        """The stack as plain data (``$`` not yet escaped), functions sorted by name.

        :raises BuildError: for two functions with one name, or a field the schema refuses.
        """
        provider: dict[str, Any] = {"name": PROVIDER_NAME}
        if self.gateway:
            provider["gateway"] = self.gateway
        functions: dict[str, Any] = {}
        for fn in sorted(self.functions, key=lambda f: f.name):
            if fn.name in functions:
                raise BuildError(f"two functions are named {fn.name!r} in the stack file")
            functions[fn.name] = fn.to_document()
        document = {"version": STACK_VERSION, "provider": provider, "functions": functions}
        problems = schema_problems(document)
        if problems:
            raise BuildError("the stack file would be refused by faas-cli: " + "; ".join(problems))
        return document

    def dump(self) -> str:
        """The stack file's text: ``header`` lines as ``#`` comments, then the YAML, with every
        ``$`` written ``$$`` (literal after faas-cli's envsubst, ``docs/openfaas.md#environment-substitution``).
        Deterministic.

        :raises BuildError: as :meth:`to_document`.
        """
        return dump_document(self.to_document(), self.header)


def dump_document(document: Mapping[str, Any], header: Iterable[str] = ()) -> str:
    """YAML text of a stack ``document``: strings double-quoted, mapping order kept, no line
    folding, UTF-8 characters as is, ``$`` escaped as ``$$`` for envsubst
    (``docs/openfaas.md#environment-substitution``)."""
    comments = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header)
    text = yaml.dump(
        _quoted(document),
        Dumper=_StackDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
        indent=2,
    )
    return (comments + text).replace("$", "$$")


def envsubst(text: str, environ: Mapping[str, str] | None = None) -> str:
    """What faas-cli's envsubst makes of a stack file's ``text`` before parsing it
    (``docs/openfaas.md#environment-substitution``): ``$$`` is a literal ``$``; ``${VAR}``, ``$VAR``,
    ``${VAR:-default}`` and ``${VAR:=default}`` are replaced by the variable (default ``os.environ``), an unset one by
    ``""`` (or the default)."""
    env = os.environ if environ is None else environ

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("plain")
        value = env.get(name)
        if m.group("op") is not None and not value:
            return m.group("default") or ""
        return value or ""

    return _ENVSUBST.sub(replace, text)


_ENVSUBST = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:[-=])(?P<default>[^}]*))?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
)


def load_document(text: str, environ: Mapping[str, str] | None = None) -> Any:
    """Parse a stack file as faas-cli does: envsubst (:func:`envsubst`) first, then YAML.

    :raises BuildError: when the text is not YAML.
    """
    try:
        return yaml.safe_load(envsubst(text, environ))
    except yaml.YAMLError as e:
        raise BuildError(f"the stack file is not valid YAML: {e}") from e


def schema_problems(document: Any) -> list[str]:
    """What faas-cli (go-sdk ``stack/schema.go``, ``docs/openfaas.md#stack-file-fields``) would refuse in a parsed
    stack ``document``; empty when it is accepted.

    Rules: ``version`` absent or ``"1.0"``; ``provider.name`` exactly ``openfaas``;
    ``provider.gateway`` a string; ``functions`` a mapping of DNS-1123 names (a Kubernetes
    provider needs one, ``docs/openfaas.md#functiondeployment``) to mappings that only use the schema's keys; ``lang``
    and ``image`` present; strings, string lists, string-to-string maps and booleans where the schema says so;
    ``limits``/``requests`` with ``memory``/``cpu`` only. Scalars must be strings where a string is expected, so that no
    YAML 1.1 type (``yes``, ``1.0``, ``010``) changes meaning.
    """
    problems: list[str] = []
    if not isinstance(document, Mapping):
        return ["the document is not a mapping"]
    unknown = sorted(set(map(str, document)) - {"version", "provider", "functions", "configuration"})
    if unknown:
        problems.append(f"unknown top-level keys {', '.join(unknown)}")
    if "version" in document and document["version"] != STACK_VERSION:
        problems.append(f"version must be {STACK_VERSION!r}, not {document['version']!r}")
    provider = document.get("provider")
    if not isinstance(provider, Mapping):
        problems.append("provider must be a mapping with name: openfaas")
    else:
        if provider.get("name") != PROVIDER_NAME:
            problems.append(f"provider.name must be {PROVIDER_NAME!r}, not {provider.get('name')!r}")
        if "gateway" in provider and not isinstance(provider["gateway"], str):
            problems.append("provider.gateway must be a string")
    functions = document.get("functions")
    if not isinstance(functions, Mapping) or not functions:
        problems.append("functions must be a non-empty mapping")
        return problems
    for name, fn in functions.items():
        problems.extend(_function_problems(name, fn))
    return problems


def _function_problems(name: Any, fn: Any) -> list[str]:
    where = f"functions.{name}"
    if not isinstance(name, str) or len(name) > 63 or not _DNS_1123_LABEL.match(name):
        return [f"{where}: the name must be a DNS-1123 label"]
    if not isinstance(fn, Mapping):
        return [f"{where} must be a mapping"]
    problems: list[str] = []
    unknown = sorted(set(map(str, fn)) - set(FUNCTION_KEYS))
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    for key in ("lang", "image"):
        if not fn.get(key):
            problems.append(f"{where}.{key} is required")
    for key, value in fn.items():
        if key in _STRING_KEYS and not isinstance(value, str):
            problems.append(f"{where}.{key} must be a string")
        elif key in _MAP_KEYS and not _is_string_map(value):
            problems.append(f"{where}.{key} must map strings to strings")
        elif key in _LIST_KEYS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{where}.{key} must be a list of strings")
        elif key in _BOOL_KEYS and not isinstance(value, bool):
            problems.append(f"{where}.{key} must be true or false")
        elif key in ("limits", "requests"):
            if not _is_string_map(value) or not set(value) <= set(RESOURCE_KEYS):
                problems.append(f"{where}.{key} takes memory and cpu only, as strings")
    if fn.get("lang") == DOCKERFILE_LANG and not fn.get("handler"):
        problems.append(f"{where}.handler is required with lang: {DOCKERFILE_LANG}")
    return problems


def _is_string_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _sorted_map(values: Mapping[str, str]) -> dict[str, str]:
    return {k: values[k] for k in sorted(values)}


def _resources(function: str, key: str, resources: FunctionResources) -> dict[str, str]:
    wire = resources.to_wire()
    extra = sorted(set(wire) - set(RESOURCE_KEYS))
    if extra:
        raise BuildError(
            f"function {function!r}: {key} in a stack file take memory and cpu only, not {', '.join(extra)}"
        )
    return {k: wire[k] for k in RESOURCE_KEYS if k in wire}


class _Quoted(str):
    """A string value written double-quoted."""


class _StackDumper(yaml.SafeDumper):
    """SafeDumper that writes :class:`_Quoted` double-quoted and never uses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_StackDumper.add_representer(_Quoted, _represent_quoted)


def _quoted(value: Any) -> Any:
    """``value`` with every string value (not mapping key) wrapped as :class:`_Quoted`."""
    if isinstance(value, str):
        return _Quoted(value)
    if isinstance(value, Mapping):
        return {k: _quoted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_quoted(v) for v in value]
    return value
