"""REST paths and OpenFaaS function names derived from action names (servey_faas/naming.py)."""

from __future__ import annotations

import pytest

from servey_faas.errors import ConfigurationError
from servey_faas.naming import default_path, function_name


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("say_hello", "/actions/say-hello"),
        ("ping", "/actions/ping"),
        ("a__b_", "/actions/a--b-"),
        ("Get_X", "/actions/Get-X"),
    ],
)
def test_default_path(name: str, path: str) -> None:
    assert default_path(name) == path


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("say_hello", "", "say-hello"),
        ("SayHello", "", "sayhello"),
        ("say_hello", "shop-", "shop-say-hello"),
        ("v2", "app-", "app-v2"),
        ("x", "", "x"),
    ],
)
def test_function_name(name: str, prefix: str, expected: str) -> None:
    assert function_name(name, prefix) == expected


def test_function_name_up_to_63_characters() -> None:
    assert function_name("a" * 63) == "a" * 63
    assert function_name("b" * 60, prefix="pr-") == "pr-" + "b" * 60
    with pytest.raises(ConfigurationError, match="at most 63 characters"):
        function_name("a" * 64)
    with pytest.raises(ConfigurationError, match="DNS-1123"):
        function_name("b" * 61, prefix="pr-")


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("_private", ""),  # would start with '-'
        ("trailing_", ""),  # would end with '-'
        ("café", ""),  # not ASCII
        ("hello", "My_"),  # prefix is used as is: upper case and '_' are not allowed
        ("hello", "-"),
        ("hello", "a.b-"),
    ],
)
def test_function_name_rejects_what_is_not_a_dns_1123_label(name: str, prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a DNS-1123 label") as info:
        function_name(name, prefix)
    assert repr(name) in str(info.value)
