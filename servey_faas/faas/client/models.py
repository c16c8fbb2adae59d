"""The gateway's wire types as frozen dataclasses with snake_case attributes.

Each type has ``to_wire()`` (the JSON object the gateway expects, with the wire names and Go
``omitempty`` rules of ``docs/openfaas.md#body-types``) and ``from_wire()`` (tolerant of every field the Go
side may leave out). Source: faas-provider ``types/*.go`` as described in ``docs/openfaas.md#body-types``.

Go ``omitempty`` in short: ``""``, ``0``, ``false``, empty maps and slices and nil pointers are
left out; a ``time.Time`` never is. ``labels``, ``annotations``, ``limits`` and ``requests`` are
pointers on the Go side, so ``None`` (left out) differs from ``{}`` (sent, clearing them on PUT).
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

#: Go's zero ``time.Time`` as the gateway serialises it: "unknown" (``docs/openfaas.md#body-types``).
ZERO_TIME = "0001-01-01T00:00:00Z"


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _opt_str_map(value: Any) -> dict[str, str] | None:
    return _str_map(value) if isinstance(value, Mapping) else None


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _count(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def parse_time(value: Any) -> datetime.datetime | None:
    """An RFC 3339 timestamp (nanoseconds allowed, truncated to microseconds) as an aware datetime;
    ``None`` for Go's zero time (``0001-01-01T00:00:00Z``), a missing or an unparseable value."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01T00:00:00"):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


def format_time(value: datetime.datetime | None) -> str:
    """RFC 3339 text for an aware datetime (``Z`` for UTC); Go's zero time for ``None``."""
    if value is None:
        return ZERO_TIME
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class FunctionResources:
    """CPU, memory and GPU limits or requests of a function; each a Kubernetes quantity string
    (``"128Mi"``, ``"100m"``), ``""`` for unset. Wire keys: ``memory``, ``cpu``,
    ``nvidia.com/gpu``, ``amd.com/gpu``, ``intel.com/gpu``, all Go ``omitempty``
    (``docs/openfaas.md#functionresources``)."""

    memory: str = ""
    cpu: str = ""
    nvidia_gpu: str = ""
    amd_gpu: str = ""
    intel_gpu: str = ""

    _WIRE = (
        ("memory", "memory"),
        ("cpu", "cpu"),
        ("nvidia_gpu", "nvidia.com/gpu"),
        ("amd_gpu", "amd.com/gpu"),
        ("intel_gpu", "intel.com/gpu"),
    )

    def to_wire(self) -> dict[str, str]:
        return {wire: getattr(self, attr) for attr, wire in self._WIRE if getattr(self, attr)}

    @classmethod
    def from_wire(cls, data: Any) -> FunctionResources | None:
        if not isinstance(data, Mapping):
            return None
        return cls(**{attr: _str(data, wire) for attr, wire in cls._WIRE})


@dataclass(frozen=True)
class FunctionUsage:
    """CPU (millicores, increase since the last measurement) and memory (bytes) a function uses;
    commercial providers only (``docs/openfaas.md#body-types``)."""

    cpu: float = 0.0
    total_memory_bytes: float = 0.0

    def to_wire(self) -> dict[str, float]:
        return {k: v for k, v in (("cpu", self.cpu), ("totalMemoryBytes", self.total_memory_bytes)) if v}

    @classmethod
    def from_wire(cls, data: Any) -> FunctionUsage | None:
        if not isinstance(data, Mapping):
            return None
        return cls(cpu=_number(data.get("cpu")), total_memory_bytes=_number(data.get("totalMemoryBytes")))


def _spec_to_wire(spec: FunctionDeployment | FunctionStatus) -> dict[str, Any]:
    """The fields ``FunctionDeployment`` and ``FunctionStatus`` share, with Go ``omitempty``."""
    wire: dict[str, Any] = {"image": spec.image}
    if spec.namespace:
        wire["namespace"] = spec.namespace
    if spec.env_process:
        wire["envProcess"] = spec.env_process
    if spec.env_vars:
        wire["envVars"] = dict(spec.env_vars)
    if spec.constraints:
        wire["constraints"] = list(spec.constraints)
    if spec.secrets:
        wire["secrets"] = list(spec.secrets)
    if spec.labels is not None:
        wire["labels"] = dict(spec.labels)
    if spec.annotations is not None:
        wire["annotations"] = dict(spec.annotations)
    if spec.limits is not None:
        wire["limits"] = spec.limits.to_wire()
    if spec.requests is not None:
        wire["requests"] = spec.requests.to_wire()
    if spec.read_only_root_filesystem:
        wire["readOnlyRootFilesystem"] = True
    return wire


def _spec_from_wire(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "image": _str(data, "image"),
        "namespace": _str(data, "namespace"),
        "env_process": _str(data, "envProcess"),
        "env_vars": _str_map(data.get("envVars")),
        "constraints": _str_tuple(data.get("constraints")),
        "secrets": _str_tuple(data.get("secrets")),
        "labels": _opt_str_map(data.get("labels")),
        "annotations": _opt_str_map(data.get("annotations")),
        "limits": FunctionResources.from_wire(data.get("limits")),
        "requests": FunctionResources.from_wire(data.get("requests")),
        "read_only_root_filesystem": data.get("readOnlyRootFilesystem") is True,
    }


@dataclass(frozen=True)
class _FunctionSpec:
    """The fields a deployment and a function's status share (keyword-only, after the name and
    the image): see :class:`FunctionDeployment`."""

    _: KW_ONLY
    namespace: str = ""
    env_process: str = ""
    env_vars: Mapping[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    limits: FunctionResources | None = None
    requests: FunctionResources | None = None
    read_only_root_filesystem: bool = False


@dataclass(frozen=True)
class FunctionDeployment(_FunctionSpec):
    """What to deploy: the body of POST and PUT ``/system/functions`` (``docs/openfaas.md#functiondeployment``).

    ``service`` is the function name (a DNS-1123 label, no ``.``); ``image`` an image reference;
    ``namespace`` ``""`` for the provider's default; ``env_process`` the watchdog's ``fprocess``;
    ``labels``/``annotations``/``limits``/``requests`` ``None`` to leave them out of the request
    (an empty mapping is sent and, on PUT, clears them: PUT is a full replacement, ``docs/openfaas.md#routes``).
    """

    service: str
    image: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object with wire names; empty fields left out as Go ``omitempty`` does."""
        return {"service": self.service, **_spec_to_wire(self)}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FunctionDeployment:
        return cls(service=_str(data, "service"), **_spec_from_wire(data))


@dataclass(frozen=True)
class FunctionStatus(_FunctionSpec):
    """A deployed function as GET ``/system/functions`` and ``/system/function/{name}`` report it
    (``docs/openfaas.md#body-types``): the deployment fields with ``name`` for ``service``, plus counts.

    ``replicas`` and ``available_replicas`` are 0 when the gateway leaves them out (uint64
    ``omitempty``); ``invocation_count`` is only filled in on the list endpoint
    (``docs/openfaas.md#q1-listing-functions-needs-prometheus``); ``created_at`` is ``None`` for Go's zero time
    ("unknown"); ``usage`` is commercial-only.
    """

    name: str
    image: str
    invocation_count: float = 0.0
    replicas: int = 0
    available_replicas: int = 0
    created_at: datetime.datetime | None = None
    usage: FunctionUsage | None = None

    @property
    def ready(self) -> bool:
        """True when at least one replica is ready (``availableReplicas ≥ 1``, ``docs/openfaas.md#functionstatus``)."""
        return self.available_replicas >= 1

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the gateway re-serialises it (``docs/openfaas.md#q1-listing-functions-needs-prometheus``):
        counts left out when 0, ``createdAt`` always present."""
        wire: dict[str, Any] = {"name": self.name, **_spec_to_wire(self)}
        if self.invocation_count:
            wire["invocationCount"] = self.invocation_count
        if self.replicas:
            wire["replicas"] = self.replicas
        if self.available_replicas:
            wire["availableReplicas"] = self.available_replicas
        wire["createdAt"] = format_time(self.created_at)
        if self.usage is not None:
            wire["usage"] = self.usage.to_wire()
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FunctionStatus:
        return cls(
            name=_str(data, "name"),
            **_spec_from_wire(data),
            invocation_count=_number(data.get("invocationCount")),
            replicas=_count(data.get("replicas")),
            available_replicas=_count(data.get("availableReplicas")),
            created_at=parse_time(data.get("createdAt")),
            usage=FunctionUsage.from_wire(data.get("usage")),
        )


@dataclass(frozen=True)
class Secret:
    """A secret: ``name``, ``namespace`` (``""`` for the default) and either ``value`` (text) or
    ``raw_value`` (bytes, sent as base64 ``rawValue``). GET ``/system/secrets`` returns only the
    name and namespace; values are never read back (``docs/openfaas.md#body-types``). The values are kept out
    of ``repr`` so they do not end up in logs."""

    name: str
    namespace: str = ""
    value: str = field(default="", repr=False)
    raw_value: bytes = field(default=b"", repr=False)

    def to_wire(self) -> dict[str, str]:
        """``{"name", "namespace"?, "value"?, "rawValue"?}``, Go ``omitempty``."""
        wire = {"name": self.name}
        if self.namespace:
            wire["namespace"] = self.namespace
        if self.value:
            wire["value"] = self.value
        if self.raw_value:
            wire["rawValue"] = base64.b64encode(self.raw_value).decode("ascii")
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Secret:
        raw = data.get("rawValue")
        return cls(
            name=_str(data, "name"),
            namespace=_str(data, "namespace"),
            value=_str(data, "value"),
            raw_value=base64.b64decode(raw) if isinstance(raw, str) and raw else b"",
        )


@dataclass(frozen=True)
class LogEntry:
    """One line of GET ``/system/logs`` (NDJSON; ``docs/openfaas.md#logentry-and-log-query-parameters``): the function
    ``name`` and ``namespace`` (may be ``""``), the replica ``instance``, an aware ``timestamp`` (nanoseconds truncated
    to microseconds) and ``text`` (usually ending in ``\\n``)."""

    name: str
    namespace: str
    instance: str
    timestamp: datetime.datetime | None
    text: str

    def to_wire(self) -> dict[str, str]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "instance": self.instance,
            "timestamp": format_time(self.timestamp),
            "text": self.text,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> LogEntry:
        return cls(
            name=_str(data, "name"),
            namespace=_str(data, "namespace"),
            instance=_str(data, "instance"),
            timestamp=parse_time(data.get("timestamp")),
            text=_str(data, "text"),
        )


@dataclass(frozen=True)
class VersionInfo:
    """A component's version: ``sha`` and ``release`` (may be ``""``) and ``commit_message``
    (snake_case on the wire, Go ``omitempty``; ``docs/openfaas.md#body-types``)."""

    sha: str = ""
    release: str = ""
    commit_message: str = ""

    def to_wire(self) -> dict[str, str]:
        wire = {"sha": self.sha, "release": self.release}
        if self.commit_message:
            wire["commit_message"] = self.commit_message
        return wire

    @classmethod
    def from_wire(cls, data: Any) -> VersionInfo | None:
        if not isinstance(data, Mapping):
            return None
        return cls(sha=_str(data, "sha"), release=_str(data, "release"), commit_message=_str(data, "commit_message"))


@dataclass(frozen=True)
class ProviderInfo:
    """The provider behind the gateway: ``provider`` (e.g. ``faas-netes``), ``orchestration``
    (e.g. ``kubernetes``) and its ``version`` (may be ``None``; ``docs/openfaas.md#gatewayinfo``)."""

    provider: str = ""
    orchestration: str = ""
    version: VersionInfo | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "orchestration": self.orchestration,
            "version": None if self.version is None else self.version.to_wire(),
        }

    @classmethod
    def from_wire(cls, data: Any) -> ProviderInfo | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            provider=_str(data, "provider"),
            orchestration=_str(data, "orchestration"),
            version=VersionInfo.from_wire(data.get("version")),
        )


@dataclass(frozen=True)
class GatewayInfo:
    """GET ``/system/info``: the ``provider`` (``None`` when the gateway could not parse the
    provider's answer), the gateway's ``version`` and its build ``arch`` (may be ``""``;
    ``docs/openfaas.md#gatewayinfo``)."""

    provider: ProviderInfo | None = None
    version: VersionInfo | None = None
    arch: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "provider": None if self.provider is None else self.provider.to_wire(),
            "version": None if self.version is None else self.version.to_wire(),
            "arch": self.arch,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> GatewayInfo:
        return cls(
            provider=ProviderInfo.from_wire(data.get("provider")),
            version=VersionInfo.from_wire(data.get("version")),
            arch=_str(data, "arch"),
        )


@dataclass(frozen=True)
class FunctionNamespace:
    """A namespace for the Enterprise namespace endpoints (``docs/openfaas.md#functionnamespace``): ``name`` plus
    ``labels`` and ``annotations`` (Go ``omitempty``). :meth:`managed` adds ``openfaas="1"`` to
    both, as go-sdk and python-sdk do, because Enterprise only manages namespaces carrying it."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def managed(self) -> FunctionNamespace:
        """This namespace with ``labels.openfaas`` and ``annotations.openfaas`` set to ``"1"``."""
        return FunctionNamespace(self.name, {**self.labels, "openfaas": "1"}, {**self.annotations, "openfaas": "1"})

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"name": self.name}
        if self.annotations:
            wire["annotations"] = dict(self.annotations)
        if self.labels:
            wire["labels"] = dict(self.labels)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FunctionNamespace:
        return cls(_str(data, "name"), _str_map(data.get("labels")), _str_map(data.get("annotations")))
