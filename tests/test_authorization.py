"""Authorization: the verified identity value object."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from servey_faas import Authorization

UTC = datetime.UTC
T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SECOND = datetime.timedelta(seconds=1)


def test_an_empty_authorization_has_no_subject_and_no_scopes() -> None:
    auth = Authorization()
    assert auth.subject_id is None
    assert auth.scopes == frozenset()
    assert auth.not_before is None and auth.expire_at is None
    assert not auth.has_scope("anything")


def test_has_scope_is_an_exact_membership_test() -> None:
    auth = Authorization("alice", frozenset({"orders:read", "orders:write"}))
    assert auth.has_scope("orders:read")
    assert auth.has_scope("orders:write")
    assert not auth.has_scope("orders")
    assert not auth.has_scope("ORDERS:READ")
    assert not auth.has_scope("orders:read orders:write")


def test_it_is_frozen_and_compares_by_value() -> None:
    auth = Authorization("alice", frozenset({"a"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        auth.subject_id = "mallory"  # type: ignore[misc]
    assert auth == Authorization("alice", frozenset({"a"}))
    assert hash(auth) == hash(Authorization("alice", frozenset({"a"})))


def test_is_valid_at_covers_not_before_inclusive_to_expire_at_exclusive() -> None:
    auth = Authorization("alice", not_before=T0, expire_at=T0 + 10 * SECOND)
    assert not auth.is_valid_at(T0 - SECOND)
    assert auth.is_valid_at(T0)
    assert auth.is_valid_at(T0 + 9 * SECOND)
    assert not auth.is_valid_at(T0 + 10 * SECOND)


def test_missing_bounds_are_open() -> None:
    assert Authorization().is_valid_at(T0)
    assert Authorization(expire_at=T0).is_valid_at(T0 - 1000 * SECOND)
    assert Authorization(not_before=T0).is_valid_at(T0 + 1000 * SECOND)
