"""Fixtures of the GraphQL tests: real uvicorn servers (``tests.integration.live_server.serve``) of
the demo actions and of the test actions in :mod:`.actions_for_graphql`, and a GraphQL client.

Servers are shared by a module and stopped when it ends; HS256 tokens are made with PyJWT.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.demo import load_demo_app
from tests.integration.live_server import CLIENT_TIMEOUT, serve

from .actions_for_graphql import SECRET, SensorActions, app_of, sensor_actions


@dataclass
class GraphQLClient:
    """Posts GraphQL operations to ``/graphql`` and REST calls to the same server."""

    http: httpx.Client

    def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        """The JSON answer of ``POST /graphql`` (which must be a 200 ``application/json``)."""
        response = self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body: dict[str, Any] = response.json()
        return body

    def raw(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return self.http.post("/graphql", json=payload, headers=headers)


def make_token(key: str = SECRET, *, scope: str = "", sub: str = "ada", **claims: Any) -> str:
    """An HS256 JWT: ``sub``, ``scope``, ``iat`` now and ``exp`` in an hour unless ``claims`` say otherwise."""
    now = int(time.time())
    payload = {"sub": sub, "scope": scope, "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(payload, key, algorithm="HS256")


@pytest.fixture(scope="module")
def demo_graphql() -> Iterator[GraphQLClient]:
    """A client of a real server of the repository's demo actions."""
    with serve(load_demo_app()) as url, httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        yield GraphQLClient(http)


@pytest.fixture(scope="module")
def sensors() -> SensorActions:
    return sensor_actions()


@pytest.fixture(scope="module")
def sensor_graphql(sensors: SensorActions) -> Iterator[GraphQLClient]:
    """A client of a real server of the test actions (HS256 key :data:`SECRET`)."""
    with serve(app_of(*sensors.functions)) as url, httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        yield GraphQLClient(http)
