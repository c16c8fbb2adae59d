"""Cache controls: TTL and ETag headers, combinations, private(), and If-None-Match matching."""

from __future__ import annotations

import email.utils
import hashlib
import math
import re
import time
from typing import Any

import pytest

from servey_faas import ETagCacheControl, TtlCacheControl, action, get_action
from servey_faas.cache_control import CacheControl, CombinedCacheControl, etag_of, if_none_match_matches, private
from servey_faas.errors import ActionDefinitionError, ConfigurationError

BODY = b'{"total":42}'


# --- TtlCacheControl -----------------------------------------------------------------------------


def test_ttl_is_private_by_default_with_max_age() -> None:
    headers = TtlCacheControl(60).headers(BODY)
    assert headers["Cache-Control"] == "private, max-age=60"
    assert set(headers) == {"Cache-Control", "Expires"}


def test_ttl_can_be_public() -> None:
    assert TtlCacheControl(300, public=True).headers(BODY)["Cache-Control"] == "public, max-age=300"


def test_expires_is_an_imf_fixdate_ttl_seconds_after_now() -> None:
    before = math.floor(time.time())
    expires = TtlCacheControl(3600).headers(BODY)["Expires"]
    after = time.time()
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", expires), expires
    when = email.utils.parsedate_to_datetime(expires).timestamp()
    assert before + 3600 <= when <= after + 3600


def test_a_zero_ttl_expires_now() -> None:
    headers = TtlCacheControl(0).headers(BODY)
    assert headers["Cache-Control"] == "private, max-age=0"
    assert email.utils.parsedate_to_datetime(headers["Expires"]).timestamp() <= time.time()


@pytest.mark.parametrize("ttl", [-1, 1.5, True, "60", None])
def test_ttl_must_be_whole_non_negative_seconds(ttl: Any) -> None:
    with pytest.raises(ConfigurationError, match="whole seconds"):
        TtlCacheControl(ttl)


def test_ttl_uses_no_etag() -> None:
    assert not TtlCacheControl(1).uses_etag


# --- ETagCacheControl ----------------------------------------------------------------------------


def test_the_etag_is_a_quoted_strong_hash_of_the_body() -> None:
    tag = ETagCacheControl().headers(BODY)["ETag"]
    assert tag == f'"{hashlib.sha256(BODY).hexdigest()[:32]}"'
    assert not tag.startswith("W/")
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert ETagCacheControl().uses_etag


def test_equal_bodies_have_equal_etags_and_different_bodies_different_ones() -> None:
    assert etag_of(BODY) == etag_of(bytes(BODY))
    assert etag_of(BODY) != etag_of(b'{"total":43}')
    assert etag_of(b"") != etag_of(b" ")


# --- combinations --------------------------------------------------------------------------------


def test_a_combination_gives_every_header_and_uses_an_etag_if_a_part_does() -> None:
    combined = CombinedCacheControl((TtlCacheControl(60), ETagCacheControl()))
    headers = combined.headers(BODY)
    assert set(headers) == {"Cache-Control", "Expires", "ETag"}
    assert headers["ETag"] == etag_of(BODY)
    assert combined.uses_etag
    assert not CombinedCacheControl((TtlCacheControl(1),)).uses_etag


def test_action_combines_a_tuple_and_keeps_a_single_one() -> None:
    @action(cache_control=(TtlCacheControl(60), ETagCacheControl()))
    def both() -> int:
        return 1

    @action(cache_control=[ETagCacheControl()])
    def one() -> int:
        return 1

    @action(cache_control=TtlCacheControl(5))
    def plain() -> int:
        return 1

    assert get_action(both).cache_control == CombinedCacheControl((TtlCacheControl(60), ETagCacheControl()))  # type: ignore[union-attr]
    assert get_action(one).cache_control == ETagCacheControl()  # type: ignore[union-attr]
    assert get_action(plain).cache_control == TtlCacheControl(5)  # type: ignore[union-attr]


def test_action_refuses_something_that_is_not_a_cache_control() -> None:
    with pytest.raises(ActionDefinitionError, match="cache_control"):

        @action(cache_control=(TtlCacheControl(5), "max-age=5"))  # type: ignore[arg-type]
        def bad() -> int:
            return 1


# --- private() -----------------------------------------------------------------------------------


class RawHeaders:
    """A user-defined cache control with a hand-written Cache-Control value."""

    def __init__(self, value: str) -> None:
        self.value = value

    @property
    def uses_etag(self) -> bool:
        return False

    def headers(self, body: bytes) -> dict[str, str]:
        return {"Cache-Control": self.value}


def test_private_turns_a_public_ttl_private() -> None:
    assert private(TtlCacheControl(60, public=True)) == TtlCacheControl(60)
    assert private(TtlCacheControl(60)) == TtlCacheControl(60)


def test_private_reaches_into_combinations_and_keeps_etags() -> None:
    combined = private(CombinedCacheControl((TtlCacheControl(9, public=True), ETagCacheControl())))
    headers = combined.headers(BODY)
    assert headers["Cache-Control"] == "private, max-age=9"
    assert headers["ETag"] == etag_of(BODY)
    assert combined.uses_etag
    assert private(ETagCacheControl()) == ETagCacheControl()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public, max-age=60", "private, max-age=60"),
        ("public, s-maxage=600, max-age=60, proxy-revalidate", "private, max-age=60"),
        ("max-age=60", "private, max-age=60"),
        ("private, max-age=60", "private, max-age=60"),
        ("no-store", "no-store"),
        ('private="Set-Cookie", max-age=5', 'private="Set-Cookie", max-age=5'),
    ],
)
def test_private_rewrites_any_cache_control_header(value: str, expected: str) -> None:
    wrapped: CacheControl = private(RawHeaders(value))
    assert wrapped.headers(BODY)["Cache-Control"] == expected
    assert private(wrapped) is wrapped


# --- If-None-Match (RFC 9110 §13.1.2) ------------------------------------------------------------

TAG = '"abc123"'


@pytest.mark.parametrize(
    "header",
    [
        '"abc123"',
        'W/"abc123"',
        '"other", "abc123"',
        '"other","abc123"',
        '  "abc123"  ',
        ', "abc123" ,,',
        '"x,y", "abc123"',
        "*",
        " * ",
    ],
)
def test_if_none_match_matches(header: str) -> None:
    assert if_none_match_matches(header, TAG)


@pytest.mark.parametrize(
    "header",
    [
        '"abc124"',
        '"ABC123"',
        "abc123",
        '"abc123',
        '"other" "abc123"',
        'W/ "abc123"',
        '"abc123"; x',
        "",
        "**",
        '"x", *',
    ],
)
def test_if_none_match_does_not_match(header: str) -> None:
    assert not if_none_match_matches(header, TAG)


def test_weak_comparison_also_ignores_a_weak_current_tag() -> None:
    assert if_none_match_matches('"abc123"', 'W/"abc123"')
    assert if_none_match_matches('W/"abc123"', 'W/"abc123"')
