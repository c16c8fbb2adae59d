"""Wire names and Go omitempty rules of the gateway types (``docs/openfaas.md#body-types``)."""

from __future__ import annotations

import datetime

from servey_faas.faas import (
    FunctionDeployment,
    FunctionNamespace,
    FunctionResources,
    FunctionStatus,
    GatewayInfo,
    LogEntry,
    Secret,
)


def test_deployment_minimal_leaves_every_empty_field_out() -> None:
    assert FunctionDeployment("echo-fn", "img:1").to_wire() == {"service": "echo-fn", "image": "img:1"}


def test_deployment_full_uses_wire_names() -> None:
    spec = FunctionDeployment(
        "echo-fn",
        "registry.example/echo-fn:0.1",
        namespace="openfaas-fn",
        env_process="python index.py",
        env_vars={"exec_timeout": "30s"},
        constraints=("node.platform.os == linux",),
        secrets=("api-key",),
        labels={"com.openfaas.scale.min": "1"},
        annotations={"topic": "cron-function", "schedule": "*/5 * * * *"},
        limits=FunctionResources(memory="128Mi", nvidia_gpu="1"),
        requests=FunctionResources(memory="64Mi", cpu="50m"),
        read_only_root_filesystem=True,
    )
    assert spec.to_wire() == {
        "service": "echo-fn",
        "image": "registry.example/echo-fn:0.1",
        "namespace": "openfaas-fn",
        "envProcess": "python index.py",
        "envVars": {"exec_timeout": "30s"},
        "constraints": ["node.platform.os == linux"],
        "secrets": ["api-key"],
        "labels": {"com.openfaas.scale.min": "1"},
        "annotations": {"topic": "cron-function", "schedule": "*/5 * * * *"},
        "limits": {"memory": "128Mi", "nvidia.com/gpu": "1"},
        "requests": {"memory": "64Mi", "cpu": "50m"},
        "readOnlyRootFilesystem": True,
    }
    assert FunctionDeployment.from_wire(spec.to_wire()) == spec


def test_pointer_fields_distinguish_none_from_empty() -> None:
    # labels/annotations/limits are Go pointers: nil is omitted, an empty value is sent (and clears on PUT).
    wire = FunctionDeployment("f", "i", labels={}, annotations={}, limits=FunctionResources()).to_wire()
    assert wire == {"service": "f", "image": "i", "labels": {}, "annotations": {}, "limits": {}}
    assert "readOnlyRootFilesystem" not in FunctionDeployment("f", "i", read_only_root_filesystem=False).to_wire()


def test_status_missing_counts_are_zero_and_zero_time_is_unknown() -> None:
    status = FunctionStatus.from_wire({"name": "f", "image": "i", "createdAt": "0001-01-01T00:00:00Z"})
    assert (status.replicas, status.available_replicas, status.invocation_count) == (0, 0, 0.0)
    assert status.created_at is None and not status.ready
    assert status.to_wire() == {"name": "f", "image": "i", "createdAt": "0001-01-01T00:00:00Z"}


def test_status_parses_nanosecond_timestamps_and_counts() -> None:
    status = FunctionStatus.from_wire(
        {"name": "f", "image": "i", "replicas": 2, "availableReplicas": 1, "invocationCount": 5.0,
         "createdAt": "2026-01-02T03:04:05.123456789Z", "usage": {"cpu": 0.5, "totalMemoryBytes": 1024.0}}
    )  # fmt: skip
    assert status.created_at == datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC)
    assert status.ready and status.replicas == 2 and status.invocation_count == 5.0
    assert status.usage is not None and status.usage.total_memory_bytes == 1024.0
    assert status.to_wire()["createdAt"] == "2026-01-02T03:04:05.123456Z"


def test_secret_value_and_raw_value_and_repr_hides_them() -> None:
    assert Secret("k").to_wire() == {"name": "k"}
    assert Secret("k", "ns", value="v").to_wire() == {"name": "k", "namespace": "ns", "value": "v"}
    assert Secret("k", raw_value=b"\x00\x01").to_wire() == {"name": "k", "rawValue": "AAE="}
    assert Secret.from_wire({"name": "k", "rawValue": "AAE="}).raw_value == b"\x00\x01"
    assert "v3ry" not in repr(Secret("k", value="v3ry")) and "v3ry" not in str(Secret("k", value="v3ry"))


def test_gateway_info_with_null_provider() -> None:
    info = GatewayInfo.from_wire({"provider": None, "version": {"sha": "abc", "release": ""}, "arch": ""})
    assert info.provider is None and info.version is not None and info.version.sha == "abc"
    assert info.to_wire() == {"provider": None, "version": {"sha": "abc", "release": ""}, "arch": ""}


def test_log_entry_round_trip() -> None:
    line = {"name": "f", "namespace": "", "instance": "f-1", "timestamp": "2026-01-02T03:04:05Z", "text": "hi\n"}
    entry = LogEntry.from_wire(line)
    assert entry.timestamp == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert entry.to_wire() == line


def test_namespace_managed_adds_openfaas_label_and_annotation() -> None:
    wire = FunctionNamespace("team-a", labels={"x": "1"}).managed().to_wire()
    assert wire == {"name": "team-a", "labels": {"x": "1", "openfaas": "1"}, "annotations": {"openfaas": "1"}}
