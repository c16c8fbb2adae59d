"""Queries and mutations over a real server: the demo actions and the test actions (dataclass inputs,
enums, lists, optionals, date-times, UUIDs, JSON values, nested actions), and their errors."""

from __future__ import annotations

import logging

import pytest

from .actions_for_graphql import SensorActions
from .conftest import GraphQLClient

INSTALLED = "2026-01-02T03:04:05+00:00"


# -- the demo actions -----------------------------------------------------------------------------


def test_a_get_action_is_a_query_field(demo_graphql: GraphQLClient) -> None:
    assert demo_graphql.post('{ sayHello(name: "World") }') == {"data": {"sayHello": "Hello World!"}}


def test_an_async_action_returns_an_object(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post('{ currentTemperature(city: "Oslo") { station celsius } }')
    assert answer == {"data": {"currentTemperature": {"station": "OSLO", "celsius": 4.0}}}


def test_path_params_are_arguments_with_their_defaults(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post("{ a: getOrderLine(orderNumber: 42) b: getOrderLine(orderNumber: 42, line: 3) }")
    assert answer == {"data": {"a": "order 42, line 1", "b": "order 42, line 3"}}


def test_a_post_action_is_a_mutation_with_a_nested_dataclass_input(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post(
        """mutation Quote($order: OrderInput!) {
             quoteOrder(order: $order) { orderId customer total currency itemCount quotedAt }
           }""",
        {
            "order": {
                "customer": "ada",
                "lines": [{"sku": "tea", "quantity": 2, "unitPrice": 3.5}, {"sku": "cup", "unitPrice": 4.0}],
                "currency": "USD",
                "deliverOn": "2026-12-01",
                "notes": {"gift": "yes"},
            }
        },
    )
    quote = answer["data"]["quoteOrder"]
    assert quote["customer"] == "ada"
    assert quote["total"] == 11.0
    assert quote["currency"] == "USD"
    assert quote["itemCount"] == 3
    assert quote["quotedAt"] == "2026-12-01T00:00:00+00:00"
    assert len(quote["orderId"]) == 36


def test_put_and_delete_actions_are_mutations(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post(
        'mutation { toFahrenheit(reading: {station: "OSLO", celsius: 100}) { station fahrenheit }'
        " cancelOrder(orderNumber: 7, dryRun: true) }"
    )
    assert answer == {
        "data": {
            "toFahrenheit": {"station": "OSLO", "fahrenheit": 212.0},
            "cancelOrder": {"order_number": 7, "cancelled": False},
        }
    }


def test_a_mutation_field_is_not_a_query_field(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post("{ cancelOrder(orderNumber: 7) }")
    assert "data" not in answer
    assert answer["errors"][0]["message"] == "Cannot query field 'cancelOrder' on type 'Query'."


def test_a_json_schema_constraint_is_a_field_error_with_its_path(demo_graphql: GraphQLClient) -> None:
    answer = demo_graphql.post('mutation { toFahrenheit(reading: {station: "X", celsius: -300.5}) { fahrenheit } }')
    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["path"] == ["toFahrenheit"]
    assert error["message"] == "invalid arguments: reading.celsius: -300.5 is less than the minimum of -273.15"
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "errors": [{"location": ["reading", "celsius"], "message": "-300.5 is less than the minimum of -273.15"}],
    }
    assert error["locations"] == [{"line": 1, "column": 12}]


# -- the test actions -----------------------------------------------------------------------------

SPEC = {
    "station": "oslo",
    "installedAt": INSTALLED,
    "location": {"latitude": 59.9, "longitude": 10.7},
    "unit": "FAHRENHEIT",
    "serial": "12345678-1234-5678-1234-567812345678",
    "calibratedOn": "2026-02-03",
    "tags": ["roof", "north"],
    "limits": {"max": 40.5},
}


def test_every_kind_of_input_reaches_the_action_and_comes_back(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post(
        """mutation ($spec: SensorSpecInput!) {
             registerSensor(spec: $spec) {
               station installedAt location { latitude longitude } unit serial calibratedOn tags limits readings
             }
           }""",
        {"spec": SPEC},
    )
    assert answer == {
        "data": {
            "registerSensor": {
                "station": "oslo",
                "installedAt": INSTALLED,
                "location": {"latitude": 59.9, "longitude": 10.7},
                "unit": "FAHRENHEIT",
                "serial": "12345678-1234-5678-1234-567812345678",
                "calibratedOn": "2026-02-03",
                "tags": ["roof", "north"],
                "limits": {"max": 40.5},
                "readings": [],
            }
        }
    }


def test_input_fields_left_out_take_the_dataclass_defaults(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post(
        'mutation { registerSensor(spec: {station: "s", installedAt: "2026-01-02T03:04:05Z",'
        " location: {latitude: 1, longitude: 2}}) { unit serial calibratedOn tags limits } }"
    )
    assert answer == {
        "data": {"registerSensor": {"unit": "CELSIUS", "serial": None, "calibratedOn": None, "tags": [], "limits": {}}}
    }


def test_enum_arguments_lists_and_optional_date_times(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post(
        '{ a: getSensor(station: "x", unit: FAHRENHEIT) { unit }'
        ' b: listSensors(stations: ["p", "q"], since: "2026-05-06T07:08:09+02:00") { station calibratedOn }'
        " c: listSensors(stations: []) { station } }"
    )
    assert answer == {
        "data": {
            "a": {"unit": "FAHRENHEIT"},
            "b": [{"station": "p", "calibratedOn": "2026-05-06"}, {"station": "q", "calibratedOn": "2026-05-06"}],
            "c": [],
        }
    }


def test_one_dataclass_as_input_and_output_type(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post(
        'mutation { echoReading(reading: {celsius: 2.5, takenAt: "2026-01-01T00:00:00+00:00"}) { celsius takenAt } }'
    )
    assert answer == {"data": {"echoReading": {"celsius": 2.5, "takenAt": "2026-01-01T00:00:00+00:00"}}}


def test_an_action_with_get_and_post_is_a_query_and_a_mutation(sensor_graphql: GraphQLClient) -> None:
    assert sensor_graphql.post('{ bothWays(word: "abc") }') == {"data": {"bothWays": "cba"}}
    assert sensor_graphql.post('mutation { bothWays(word: "abc") }') == {"data": {"bothWays": "cba"}}


def test_recursive_dataclasses(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post("{ growTree(depth: 1) { label parentLabel children { label children { label } } } }")
    assert answer == {
        "data": {
            "growTree": {
                "label": "level 1",
                "parentLabel": None,
                "children": [{"label": "leaf", "children": []}, {"label": "leaf", "children": []}],
            }
        }
    }


def test_nested_actions_run_only_when_selected(sensor_graphql: GraphQLClient, sensors: SensorActions) -> None:
    sensors.calls.names.clear()
    answer = sensor_graphql.post('{ getSensor(station: "oslo") { station readings } }')
    assert answer == {"data": {"getSensor": {"station": "oslo", "readings": [1.0, 2.0, 6.0]}}}
    assert sensors.calls.names == ["get_sensor"]

    sensors.calls.names.clear()
    answer = sensor_graphql.post(
        '{ getSensor(station: "oslo") { all: average last: average(last: 1) describe(unit: FAHRENHEIT, precise: true)'
        ' readingsAbove(threshold: {celsius: 1.5, takenAt: "2026-01-01T00:00:00Z"}) { celsius takenAt } } }'
    )
    assert answer == {
        "data": {
            "getSensor": {
                "all": 3.0,
                "last": 6.0,
                "describe": "oslo: 37.40 F",
                "readingsAbove": [
                    {"celsius": 2.0, "takenAt": "2026-01-01T00:00:00+00:00"},
                    {"celsius": 6.0, "takenAt": "2026-01-01T00:00:00+00:00"},
                ],
            }
        }
    }
    assert sorted(sensors.calls.names) == sorted(
        ["get_sensor", "average", "average", "describe", "average", "readings_above"]
    )


def test_nested_actions_run_on_each_object_of_a_list(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post('{ listSensors(stations: ["a", "b"]) { station average(last: 2) } }')
    assert answer == {"data": {"listSensors": [{"station": "a", "average": 4.0}, {"station": "b", "average": 4.0}]}}


def test_nested_action_arguments_are_validated_with_paths(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post(
        '{ getSensor(station: "oslo") { station'
        ' readingsAbove(threshold: {celsius: 1, takenAt: "yesterday"}) { celsius } } }'
    )
    assert answer["data"] is None  # the error makes the non-null field null, and so its parent
    [error] = answer["errors"]
    assert error["path"] == ["getSensor", "readingsAbove"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"] == [
        {"location": ["threshold", "takenAt"], "message": "'yesterday' is not a 'date-time'"}
    ]


def test_several_invalid_fields_are_all_named(sensor_graphql: GraphQLClient) -> None:
    spec = {**SPEC, "installedAt": "2026-01-02", "serial": "nope", "location": {"latitude": 100, "longitude": 0}}
    answer = sensor_graphql.post(
        "mutation ($spec: SensorSpecInput!) { registerSensor(spec: $spec) { station } }", {"spec": spec}
    )
    [error] = answer["errors"]
    assert error["message"] == (
        "invalid arguments: spec.installedAt: '2026-01-02' is not a 'date-time'; "
        # GraphQL's Float coerces the 100 sent to 100.0 before the JSON Schema sees it
        "spec.location.latitude: 100.0 is greater than the maximum of 90; spec.serial: 'nope' is not a 'uuid'"
    )
    assert [e["location"] for e in error["extensions"]["errors"]] == [
        ["spec", "installedAt"],
        ["spec", "location", "latitude"],
        ["spec", "serial"],
    ]


def test_null_for_a_field_whose_type_refuses_it_is_refused_by_the_schema(sensor_graphql: GraphQLClient) -> None:
    # tags: list[str] = field(default_factory=list) is "tags: [String!]! = []": null is no list
    answer = sensor_graphql.post(
        'mutation { registerSensor(spec: {station: "s", installedAt: "2026-01-02T03:04:05Z",'
        " location: {latitude: 1, longitude: 2}, tags: null}) { station } }"
    )
    assert "data" not in answer
    [error] = answer["errors"]
    assert error["message"] == "Expected value of non-null type '[String!]!' not to be None."


def test_graphql_type_errors_come_from_graphql_validation(sensor_graphql: GraphQLClient) -> None:
    answer = sensor_graphql.post('{ getSensor(station: "x", unit: KELVIN) { unit } }')
    assert "data" not in answer
    assert answer["errors"][0]["message"].startswith("Value 'KELVIN' does not exist in 'Unit' enum.")
    answer = sensor_graphql.post("{ listSensors(stations: [1]) { unit } }")
    assert answer["errors"][0]["message"] == "String cannot represent a non string value: 1"


def test_an_action_that_raises_is_an_internal_error_and_is_logged(
    sensor_graphql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="servey_faas")
    response = sensor_graphql.raw('{ explode(reason: "the vault code is 1234") bothWays(word: "ok") }')
    assert response.status_code == 200
    assert "1234" not in response.text and "RuntimeError" not in response.text
    answer = response.json()
    assert answer["data"] is None
    assert answer["errors"] == [
        {
            "message": "internal server error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["explode"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    [record] = [r for r in caplog.records if "explode" in r.getMessage()]
    assert record.exc_info is not None
    assert "secret failure detail: the vault code is 1234" in str(record.exc_info[1])


def test_a_nested_action_that_raises_is_masked_too(
    sensor_graphql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="servey_faas")
    response = sensor_graphql.raw('{ getSensor(station: "vault") { broken } }')
    assert "secret nested failure" not in response.text
    [error] = response.json()["errors"]
    assert (error["message"], error["path"]) == ("internal server error", ["getSensor", "broken"])
    assert any("secret nested failure of vault" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_a_result_that_cannot_be_json_is_an_internal_error(
    sensor_graphql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="servey_faas")
    response = sensor_graphql.raw("{ notAFloat }")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [{"message": "internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
        "data": None,
    }
    assert any("cannot be written as JSON" in r.getMessage() for r in caplog.records)
