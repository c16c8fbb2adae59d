"""``/graphql`` over HTTP: POST and GET, request errors, and the GraphiQL page and its files."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from servey_faas.web.graphql.graphiql import GRAPHIQL_FILES, GRAPHIQL_VERSION, REACT_VERSION, STATIC_DIR

from .conftest import GraphQLClient

MAX_VENDORED_BYTES = 1024 * 1024


def test_variables_and_operation_names(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.post(
        "/graphql",
        json={
            "query": 'query A($n: String!) { sayHello(name: $n) } query B { sayHello(name: "B") }',
            "variables": {"n": "A"},
            "operationName": "A",
        },
    )
    assert response.json() == {"data": {"sayHello": "Hello A!"}}


def test_queries_over_get(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.get(
        "/graphql", params={"query": "query ($n: String!) { sayHello(name: $n) }", "variables": '{"n": "get"}'}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"sayHello": "Hello get!"}}


@pytest.mark.parametrize("name", ["query", "variables", "operationName"])
def test_a_get_field_given_twice_is_400_naming_it(demo_graphql: GraphQLClient, name: str) -> None:
    fields = {"query": "query A($n: String!) { sayHello(name: $n) }", "variables": '{"n": "a"}', "operationName": "A"}
    params = [*fields.items(), (name, fields[name])]  # even the same value twice
    response = demo_graphql.http.get("/graphql", params=params)
    assert response.status_code == 400
    message = f"the query parameter {name!r} is given more than once; give it once"
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


def test_other_query_parameters_are_ignored_even_twice(demo_graphql: GraphQLClient) -> None:
    params = [("query", '{ sayHello(name: "x") }'), ("utm", "1"), ("utm", "2")]
    assert demo_graphql.http.get("/graphql", params=params).json() == {"data": {"sayHello": "Hello x!"}}


def test_mutations_over_get_are_refused(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.get("/graphql", params={"query": "mutation { cancelOrder(orderNumber: 1) }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "errors": [{"message": "mutations are not allowed when using GET", "extensions": {"code": "BAD_REQUEST"}}]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"[1]", 'the body must be a JSON object: {"query": ..., "variables": {...}}'),
        (b"{}", "the request has no query (a GraphQL document as a string)"),
        (b'{"query": 1}', "the request has no query (a GraphQL document as a string)"),
        (b'{"query": "{ sayHello(name: \\"x\\") }", "variables": [1]}', "variables must be a JSON object"),
        (b'{"query": "{ sayHello(name: \\"x\\") }", "operationName": 2}', "operationName must be a string"),
        (b'{"query": "query A { sayHello(name: \\"x\\") }", "operationName": "B"}', 'Unknown operation named "B".'),
    ],
)
def test_requests_that_cannot_be_read_are_400(demo_graphql: GraphQLClient, body: bytes, message: str) -> None:
    response = demo_graphql.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


def test_other_content_types_are_415(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.post("/graphql", content=b"{ sayHello }", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_syntax_and_validation_errors_have_no_data(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post("{ sayHello(name: ")
    assert "data" not in answer
    assert answer["errors"][0]["message"].startswith("Syntax Error")
    assert answer["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    answer = demo_graphql.post("{ nope }")
    assert answer == {
        "errors": [
            {
                "message": "Cannot query field 'nope' on type 'Query'.",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


#: Documents and variables, each with the code of every error it gets (the demo app).
EVERY_KIND_OF_ERROR: list[tuple[str, dict[str, Any] | None, str]] = [
    ("{ sayHello(name: ", None, "GRAPHQL_PARSE_FAILED"),
    ("{ sayHello(name: 1e) }", None, "GRAPHQL_PARSE_FAILED"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ sayHello }", None, "GRAPHQL_VALIDATION_FAILED"),
    ('{ getOrderLine(orderNumber: "7") }', None, "GRAPHQL_VALIDATION_FAILED"),
    ("{ getOrderLine(orderNumber: 1.5) }", None, "GRAPHQL_VALIDATION_FAILED"),
    ('mutation { toFahrenheit(reading: {station: "x"}) { fahrenheit } }', None, "GRAPHQL_VALIDATION_FAILED"),
    ("query ($n: BigInt!) { getOrderLine(orderNumber: $n) }", {"n": "7"}, "BAD_USER_INPUT"),
    ("query ($n: BigInt!) { getOrderLine(orderNumber: $n) }", {}, "BAD_USER_INPUT"),
    ("query ($n: String!) { sayHello(name: $n) }", {"n": None}, "BAD_USER_INPUT"),
    # a nullable variable with a default, given null, where the argument takes no null
    ("query ($n: BigInt = 1) { getOrderLine(orderNumber: $n) }", {"n": None}, "BAD_USER_INPUT"),
    (
        "mutation ($r: ReadingInput!) { toFahrenheit(reading: $r) { fahrenheit } }",
        {"r": {"station": "x", "celsius": -300}},
        "BAD_USER_INPUT",
    ),
]


@pytest.mark.parametrize(("query", "variables", "code"), EVERY_KIND_OF_ERROR)
def test_every_error_has_a_code(
    demo_graphql: GraphQLClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    answer = demo_graphql.post(query, variables)
    assert answer["errors"], answer
    assert [e["extensions"]["code"] for e in answer["errors"]] == [code] * len(answer["errors"]), answer


def test_other_methods_are_405(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.put("/graphql", json={"query": "{ x }"})
    assert response.status_code == 405


# -- GraphiQL -------------------------------------------------------------------------------------


def graphiql_asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(graphql/assets/[0-9a-f]{12}/[^"]+)"', page)


def test_get_without_a_query_is_graphiql_from_local_files(demo_graphql: GraphQLClient) -> None:
    response = demo_graphql.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    page = response.text
    assert "http://" not in page and "https://" not in page and "<script>" not in page
    names = [url.rsplit("/", 1)[1] for url in graphiql_asset_urls(page)]
    assert names == [
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql-init.js",
    ]
    assert "sayHello(name: &quot;World&quot;)" in page  # the first query opened comes from an example


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_graphiql_files_are_served_with_a_year_of_caching(demo_graphql: GraphQLClient, encoding: str) -> None:
    page = demo_graphql.http.get("/graphql").text
    for url in graphiql_asset_urls(page):
        response = demo_graphql.http.get("/" + url, headers={"accept-encoding": encoding})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        name = url.rsplit("/", 1)[1]
        if name in GRAPHIQL_FILES:
            media_type, sha256 = GRAPHIQL_FILES[name]
            assert response.headers["content-type"] == media_type
            assert response.headers.get("content-encoding") == ("gzip" if encoding == "gzip" else None)
            assert response.headers["vary"] == "Accept-Encoding"
            assert hashlib.sha256(response.content).hexdigest() == sha256  # httpx decodes gzip
        else:
            assert b"GraphiQL.createFetcher" in response.content


def test_unknown_assets_and_stale_tokens_are_404(demo_graphql: GraphQLClient) -> None:
    url = graphiql_asset_urls(demo_graphql.http.get("/graphql").text)[0]
    assert demo_graphql.http.get("/" + url.replace(url.split("/")[2], "000000000000")).status_code == 404
    assert demo_graphql.http.get("/" + url.rsplit("/", 1)[0] + "/nope.js").status_code == 404


def test_the_vendored_files_match_their_readme() -> None:
    readme = (STATIC_DIR / "README.md").read_text(encoding="utf-8")
    assert f"graphiql@{GRAPHIQL_VERSION}" in readme and f"react@{REACT_VERSION}" in readme
    for name, (_, sha256) in GRAPHIQL_FILES.items():
        path: Path = STATIC_DIR / f"{name}.gz"
        assert path.stat().st_size <= MAX_VENDORED_BYTES, name
        raw = gzip.decompress(path.read_bytes())
        assert hashlib.sha256(raw).hexdigest() == sha256, name
        assert f"`{sha256}` | {len(raw):,} |" in readme, name
        assert b"unpkg.com" not in raw and b"cdn.jsdelivr" not in raw, name
    for license_name in ("graphiql.LICENSE", "react.LICENSE", "react-dom.LICENSE"):
        assert (STATIC_DIR / license_name).read_text(encoding="utf-8").startswith("MIT License")


def test_the_page_works_under_a_path_prefix(demo_graphql: GraphQLClient) -> None:
    """Relative URLs: behind ``/function/api/`` the files are still found next to the page."""
    page = demo_graphql.http.get("/graphql").text
    base = httpx.URL("http://gateway/function/api/graphql")
    for url in graphiql_asset_urls(page):
        assert str(base.join(url)).startswith("http://gateway/function/api/graphql/assets/")
