"""Web, fixed-rate and cron triggers (servey_faas/triggers.py)."""

from __future__ import annotations

import dataclasses

import pytest

from servey_faas import (
    WEB_DELETE,
    WEB_GET,
    WEB_PATCH,
    WEB_POST,
    WEB_PUT,
    CronTrigger,
    FixedRateTrigger,
    WebTrigger,
)

# --- WebTrigger ---------------------------------------------------------------------------------


def test_web_trigger_defaults_to_get_without_path() -> None:
    trigger = WebTrigger()
    assert trigger.method == "GET"
    assert trigger.path is None
    assert trigger.path_params == ()


@pytest.mark.parametrize("method", ["get", "Get", "GET", "post", "put", "patch", "delete"])
def test_web_trigger_method_is_normalised_to_upper_case(method: str) -> None:
    trigger = WebTrigger(method)  # type: ignore[arg-type]
    assert trigger.method == method.upper()
    assert trigger == WebTrigger(method.upper())  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "CONNECT", "", "GETS", None, 1])
def test_web_trigger_rejects_other_methods(method: object) -> None:
    with pytest.raises(ValueError, match="method must be one of GET, POST, PUT, PATCH, DELETE"):
        WebTrigger(method)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["actions/x", "", "x/{id}", "http://host/x"])
def test_web_trigger_path_must_start_with_a_slash(path: str) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        WebTrigger("GET", path)


def test_web_trigger_path_params_in_order() -> None:
    trigger = WebTrigger("GET", "/orders/{order_number}/lines/{line}")
    assert trigger.path_params == ("order_number", "line")
    assert WebTrigger("GET", "/plain/path").path_params == ()


@pytest.mark.parametrize(
    ("trigger", "reads_body"),
    [(WEB_GET, False), (WEB_DELETE, False), (WEB_POST, True), (WEB_PUT, True), (WEB_PATCH, True)],
)
def test_only_get_and_delete_read_the_query_string(trigger: WebTrigger, reads_body: bool) -> None:
    assert trigger.reads_body is reads_body


def test_web_constants_have_their_methods_and_no_path() -> None:
    constants = (WEB_GET, WEB_POST, WEB_PUT, WEB_PATCH, WEB_DELETE)
    assert [t.method for t in constants] == ["GET", "POST", "PUT", "PATCH", "DELETE"]
    assert all(t.path is None for t in constants)


def test_triggers_are_frozen_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        WEB_GET.method = "POST"  # type: ignore[misc]
    lower = WebTrigger("get")  # type: ignore[arg-type]
    assert len({lower, WEB_GET, FixedRateTrigger(5), FixedRateTrigger(5), CronTrigger("@daily")}) == 3


# --- FixedRateTrigger ---------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [1, 0.5, 3600, 1e-3])
def test_fixed_rate_accepts_positive_seconds(interval: float) -> None:
    assert FixedRateTrigger(interval).interval == interval


@pytest.mark.parametrize("interval", [0, 0.0, -1, -0.1, True, False, "10", None, float("nan"), float("inf")])
def test_fixed_rate_rejects_non_positive_and_non_numbers(interval: object) -> None:
    with pytest.raises(ValueError, match="interval must be a number of seconds > 0"):
        FixedRateTrigger(interval)  # type: ignore[arg-type]


# --- CronTrigger --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * MON-FRI",
        "0,30 8-18 1 JAN,jul ?",
        "15 3 1-15/2 * 0",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@every 30s",
        "@every 1h30m",
        "@every 90s",
        "@every 1.5h",
        "@every 500ms",
        "@every 2h45m10s",
    ],
)
def test_cron_accepts_what_cron_connector_parses(expression: str) -> None:
    assert CronTrigger(expression).expression == expression


def test_cron_whitespace_is_normalised() -> None:
    assert CronTrigger("  */5   *  * * *\n").expression == "*/5 * * * *"
    assert CronTrigger("@every   30s").expression == "@every 30s"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields; cron-connector takes 5"),
        ("0 * * * * *", "has 6 fields.*no seconds field"),  # robfig/cron as cron-connector sets it up
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("*/5 * * * * ; 0 * * * *", "need OpenFaaS Pro"),  # several expressions are OpenFaaS Pro only
        ("* * * * $", "day-of-week '\\$': '\\$' is not a number or a name"),
        ("61 * * * *", "minute '61': out of range 0-59"),
    ],
)
def test_cron_rejects_what_cron_connector_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CronTrigger(expression)


@pytest.mark.parametrize("expression", ["@reboot", "@fortnightly", "@"])
def test_cron_rejects_unknown_descriptors(expression: str) -> None:
    with pytest.raises(ValueError, match=r"unknown descriptor .*@yearly or '@every <duration>'"):
        CronTrigger(expression)


@pytest.mark.parametrize("expression", ["@every", "@every 30", "@every s", "@every 30x", "@every -30s"])
def test_cron_rejects_every_without_a_go_duration(expression: str) -> None:
    with pytest.raises(ValueError, match="'@every' takes a Go duration such as 90s or 1h30m"):
        CronTrigger(expression)
