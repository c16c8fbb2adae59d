"""The hello-world app over HTTP, in-process, with servey_faas's own test client."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from servey_faas.settings import Settings
from servey_faas.testing import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    # The app of this folder, wherever pytest was started from; `with` runs its startup and shutdown.
    with TestClient(settings=Settings.load(project_dir=Path(__file__).parent)) as client:
        yield client


def test_say_hello_over_http(client: TestClient) -> None:
    response = client.get("/actions/say-hello", params={"name": "World"})
    assert response.status_code == 200
    assert response.json() == "Hello World!"


def test_call_builds_the_request_from_the_trigger(client: TestClient) -> None:
    response = client.call("greet_many", greeting={"name": "Bob", "times": 3})
    assert response.request.method == "POST"
    assert response.json() == ["Hello Bob!"] * 3


def test_a_missing_field_is_a_422(client: TestClient) -> None:
    response = client.call("greet_many", greeting={"times": 3})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": ["body", "greeting", "name"], "message": "field required"}]
