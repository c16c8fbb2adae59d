"""Where functions run by the local gateway find it: ``OPENFAAS_URL`` (the packager's in-cluster
default becomes the local gateway's own base URL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.deploy.packager import BuildOptions
from servey_faas.faas.gateway.environment import (
    is_in_cluster_gateway,
    reachable_url,
    with_local_gateway,
)
from servey_faas.faas.wire import IN_CLUSTER_GATEWAY_URL

LOCAL = "http://127.0.0.1:8081"


def test_the_in_cluster_default_is_the_packagers() -> None:
    assert IN_CLUSTER_GATEWAY_URL == BuildOptions().router_gateway


@pytest.mark.parametrize(
    ("url", "in_cluster"),
    [
        ("http://gateway.openfaas:8080", True),
        ("http://gateway.openfaas:8080/", True),
        ("http://gateway.openfaas.svc.cluster.local:8080", True),
        ("http://gateway.openfaas.svc:8080", True),
        ("https://gateway.openfaas:8080", False),
        ("http://gateway.openfaas:8081", False),
        ("http://gateway.openfaas", False),
        ("http://gateway.openfaas:8080/prefix", False),
        ("http://127.0.0.1:8080", False),
        ("http://gateway.example.com:8080", False),
        ("http://[::1", False),
    ],
)
def test_in_cluster_addresses(url: str, in_cluster: bool) -> None:
    assert is_in_cluster_gateway(url) is in_cluster


def test_only_the_in_cluster_or_missing_url_is_pointed_at_the_local_gateway() -> None:
    def spec(**env: str) -> FunctionDeployment:
        return FunctionDeployment("f", "file:///x", env_vars={"A": "1", **env})

    pointed = with_local_gateway(spec(OPENFAAS_URL=IN_CLUSTER_GATEWAY_URL), LOCAL)
    assert pointed.env_vars == {"A": "1", "OPENFAAS_URL": LOCAL}
    assert with_local_gateway(spec(), LOCAL).env_vars == {"A": "1", "OPENFAAS_URL": LOCAL}
    chosen = spec(OPENFAAS_URL="http://other.example:9999")
    assert with_local_gateway(chosen, LOCAL) is chosen


def test_reachable_url() -> None:
    assert reachable_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert reachable_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert reachable_url("::", 9000) == "http://[::1]:9000"
    assert reachable_url("localhost", 80) == "http://localhost:80"


def test_paths_into_the_container_secret_mount_point_at_the_local_mount(tmp_path: Path) -> None:
    from servey_faas.faas.gateway.environment import with_secret_mount

    spec = FunctionDeployment(
        "orders", "img",
        env_vars={"JWT_SECRET_KEY_FILE": "/var/openfaas/secrets/jwt-secret-key", "OTHER": "/var/openfaas/secretsx/a",
                  "NESTED": "/var/openfaas/secrets/a/b", "PLAIN": "jwt-secret-key"},
    )  # fmt: skip
    moved = with_secret_mount(spec, tmp_path)
    assert moved.env_vars == {**spec.env_vars, "JWT_SECRET_KEY_FILE": str(tmp_path / "jwt-secret-key")}
    untouched = FunctionDeployment("f", "img", env_vars={"A": "b"})
    assert with_secret_mount(untouched, tmp_path) is untouched
