"""Access controls: ScopeAccessControl, ALLOW_ALL, ALLOW_NONE and the AccessControl protocol."""

from __future__ import annotations

import pytest

from servey_faas import ALLOW_ALL, ALLOW_NONE, WEB_GET, Authorization, ScopeAccessControl, action, get_action
from servey_faas.access_control import AccessControl
from servey_faas.errors import ActionDefinitionError, ConfigurationError

READER = Authorization("alice", frozenset({"orders:read"}))
WRITER = Authorization("bob", frozenset({"orders:read", "orders:write"}))
NOBODY = Authorization("carol")


def test_a_scope_access_control_needs_a_token_with_its_scope() -> None:
    access = ScopeAccessControl("orders:write")
    assert access.requires_token
    assert access.scopes == ("orders:write",)
    assert access.is_permitted(WRITER)
    assert not access.is_permitted(READER)
    assert not access.is_permitted(NOBODY)
    assert not access.is_permitted(None)


def test_allow_all_permits_anybody_and_requires_nothing() -> None:
    assert not ALLOW_ALL.requires_token
    assert ALLOW_ALL.scopes == ()
    assert ALLOW_ALL.is_permitted(None)
    assert ALLOW_ALL.is_permitted(WRITER)


def test_allow_none_permits_nobody_whatever_the_token() -> None:
    assert not ALLOW_NONE.requires_token
    assert ALLOW_NONE.scopes == ()
    assert not ALLOW_NONE.is_permitted(None)
    assert not ALLOW_NONE.is_permitted(WRITER)


def test_the_constants_show_their_names() -> None:
    assert repr(ALLOW_ALL) == "ALLOW_ALL"
    assert repr(ALLOW_NONE) == "ALLOW_NONE"
    assert ALLOW_ALL != ALLOW_NONE


@pytest.mark.parametrize("scope", ["", "orders write", 'say"hi', "back\\slash", "naïve", "tab\there", "new\nline"])
def test_a_scope_that_is_not_an_rfc_6749_scope_token_is_refused(scope: str) -> None:
    with pytest.raises(ConfigurationError, match="scope token"):
        ScopeAccessControl(scope)


@pytest.mark.parametrize("scope", ["read", "orders:write", "https://api.example.com/orders.read", "a!#$%&'()*+,-./"])
def test_scope_tokens_of_printable_ascii_are_accepted(scope: str) -> None:
    assert ScopeAccessControl(scope).scopes == (scope,)


def test_every_access_control_satisfies_the_protocol() -> None:
    for access in (ScopeAccessControl("x"), ALLOW_ALL, ALLOW_NONE):
        assert isinstance(access, AccessControl)


def test_a_user_defined_access_control_is_accepted_by_action() -> None:
    class OnlyAlice:
        requires_token = True
        scopes = ()

        def is_permitted(self, authorization: Authorization | None) -> bool:
            return authorization is not None and authorization.subject_id == "alice"

    @action(triggers=(WEB_GET,), access_control=OnlyAlice())
    def secret() -> str:
        return "s"

    found = get_action(secret)
    assert found is not None and found.requires_token
    assert found.access_control is not None and found.access_control.is_permitted(READER)


def test_something_that_is_not_an_access_control_is_refused_by_action() -> None:
    with pytest.raises(ActionDefinitionError, match="not an access control"):

        @action(access_control="orders:write")  # type: ignore[call-overload,untyped-decorator]
        def secret() -> str:
            return "s"


def test_an_action_requires_a_token_only_with_an_access_control_that_says_so() -> None:
    @action(access_control=ScopeAccessControl("x"))
    def guarded() -> str:
        return ""

    @action(access_control=ALLOW_NONE)
    def closed() -> str:
        return ""

    @action
    def open_() -> str:
        return ""

    assert [get_action(f).requires_token for f in (guarded, closed, open_)] == [True, False, False]  # type: ignore[union-attr]
