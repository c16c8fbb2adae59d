"""The auth matrix over GraphQL (a real server, HS256 tokens made with PyJWT): no token, garbage, a
bad signature, expired, not yet valid, wrong scope, right scope; the same decisions as REST."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .actions_for_graphql import ADMIN_SCOPE, READ_SCOPE
from .conftest import GraphQLClient, make_token

OTHER_KEY = "another-hs256-key-of-at-least-32-bytes-long!"


def _header(case: str) -> str | None:
    now = int(time.time())
    return {
        "no token": None,
        "garbage": "Bearer not-a-jwt",
        "not bearer": "Basic YWRhOnNlY3JldA==",
        "bad signature": f"Bearer {make_token(OTHER_KEY, scope=READ_SCOPE)}",
        "expired": f"Bearer {make_token(scope=READ_SCOPE, iat=now - 7200, exp=now - 3600)}",
        "not yet valid": f"Bearer {make_token(scope=READ_SCOPE, nbf=now + 3600)}",
        "wrong scope": f"Bearer {make_token(scope='sensors:write other')}",
        "right scope": f"Bearer {make_token(scope=f'{READ_SCOPE} other')}",
        # validly signed, oddly typed claims: never a 500, never a grant
        "scope a number": f"Bearer {make_token(scope=5)}",  # type: ignore[arg-type]
        "scope an object": f"Bearer {make_token(scope={READ_SCOPE: True})}",  # type: ignore[arg-type]
        "exp past year 9999": f"Bearer {make_token(scope=READ_SCOPE, exp=10**30)}",
    }[case]


#: case → (extensions.code over GraphQL or None for data, REST status)
MATRIX = {
    "no token": ("UNAUTHENTICATED", 401),
    "garbage": ("UNAUTHENTICATED", 401),
    "not bearer": ("UNAUTHENTICATED", 401),
    "bad signature": ("UNAUTHENTICATED", 401),
    "expired": ("UNAUTHENTICATED", 401),
    "not yet valid": ("UNAUTHENTICATED", 401),
    "wrong scope": ("FORBIDDEN", 403),
    "right scope": (None, 200),
    "scope a number": ("UNAUTHENTICATED", 401),
    "scope an object": ("UNAUTHENTICATED", 401),
    "exp past year 9999": ("UNAUTHENTICATED", 401),
}


def _post(client: GraphQLClient, query: str, header: str | None) -> dict[str, Any]:
    headers = {} if header is None else {"Authorization": header}
    response = client.http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text  # GraphQL over HTTP: field errors keep 200
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("case", list(MATRIX))
def test_a_protected_query_field(sensor_graphql: GraphQLClient, case: str) -> None:
    code, _ = MATRIX[case]
    answer = _post(sensor_graphql, "{ whoami }", _header(case))
    if code is None:
        assert answer == {"data": {"whoami": f"ada with other {READ_SCOPE}"}}
        return
    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["extensions"] == {"code": code}
    assert error["path"] == ["whoami"]


@pytest.mark.parametrize("case", list(MATRIX))
def test_rest_makes_the_same_decision(sensor_graphql: GraphQLClient, case: str) -> None:
    code, status = MATRIX[case]
    header = _header(case)
    graphql = _post(sensor_graphql, "{ whoami }", header)
    rest = sensor_graphql.http.get("/actions/whoami", headers={} if header is None else {"Authorization": header})
    assert rest.status_code == status
    if code is None:
        assert rest.json() == graphql["data"]["whoami"]
    else:
        assert graphql["errors"][0]["message"] == rest.json()["message"]


def test_messages_say_what_is_wrong(sensor_graphql: GraphQLClient) -> None:
    def message(case: str) -> str:
        return str(_post(sensor_graphql, "{ whoami }", _header(case))["errors"][0]["message"])

    assert message("no token") == "a bearer token is required"
    assert message("expired") == "the bearer token has expired"
    assert message("not yet valid") == "the bearer token is not valid yet"
    assert message("wrong scope") == f"the token lacks the scope {READ_SCOPE!r}"


def test_a_protected_mutation(sensor_graphql: GraphQLClient) -> None:
    query = 'mutation { forgetSensor(station: "oslo") }'
    assert _post(sensor_graphql, query, None)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    reader = f"Bearer {make_token(scope=READ_SCOPE)}"
    assert _post(sensor_graphql, query, reader)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = f"Bearer {make_token(scope=ADMIN_SCOPE)}"
    assert _post(sensor_graphql, query, admin) == {"data": {"forgetSensor": True}}


def test_a_token_sent_to_an_open_field_is_still_checked(sensor_graphql: GraphQLClient) -> None:
    assert _post(sensor_graphql, "{ maybeMe }", None) == {"data": {"maybeMe": "anonymous"}}
    assert _post(sensor_graphql, "{ maybeMe }", f"Bearer {make_token(sub='grace')}") == {"data": {"maybeMe": "grace"}}
    answer = _post(sensor_graphql, "{ maybeMe }", "Bearer garbage")
    assert answer["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    answer = _post(sensor_graphql, '{ bothWays(word: "x") }', f"Bearer {make_token(OTHER_KEY)}")
    assert answer["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


def test_a_protected_nested_action(sensor_graphql: GraphQLClient) -> None:
    query = '{ getSensor(station: "oslo") { station owner } }'
    answer = _post(sensor_graphql, query, None)
    assert answer["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["getSensor", "owner"], "UNAUTHENTICATED")
    ]
    answer = _post(sensor_graphql, query, f"Bearer {make_token(scope=READ_SCOPE)}")
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    answer = _post(sensor_graphql, query, f"Bearer {make_token(scope=ADMIN_SCOPE, sub='root')}")
    assert answer == {"data": {"getSensor": {"station": "oslo", "owner": "root owns oslo"}}}


def test_one_denied_field_leaves_the_others_answered(sensor_graphql: GraphQLClient) -> None:
    answer = _post(sensor_graphql, '{ whoami maybeMe bothWays(word: "ab") }', None)
    assert answer["data"] is None  # whoami is non-null: its error nulls the whole data
    answer = _post(sensor_graphql, '{ a: maybeMe b: bothWays(word: "ab") }', None)
    assert answer == {"data": {"a": "anonymous", "b": "ba"}}
