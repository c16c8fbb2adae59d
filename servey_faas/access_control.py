"""End-user access control: which :class:`~servey_faas.authorization.Authorization` may run an action."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from servey_faas.authorization import Authorization
from servey_faas.errors import ConfigurationError

#: A scope token of RFC 6749 §3.3 (also RFC 6750 §3's ``scope`` attribute): printable ASCII without
#: space, ``"`` and ``\``.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@runtime_checkable
class AccessControl(Protocol):
    """Decides whether a caller may run an action.

    ``requires_token`` tells transports to answer 401 (``WWW-Authenticate: Bearer``) when no valid
    token came with the request; ``is_permitted`` decides between 200 and 403 for a valid one (or for
    ``None`` when no token is required). ``scopes`` are documented in OpenAPI.
    """

    @property
    def requires_token(self) -> bool: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...

    def is_permitted(self, authorization: Authorization | None) -> bool: ...


@dataclass(frozen=True)
class ScopeAccessControl:
    """Permit callers whose token grants ``execute_scope`` (one RFC 6749 §3.3 scope token, e.g.
    ``orders:write``); a call without a token is answered 401, one with a token lacking the scope 403.

    :raises ConfigurationError: when ``execute_scope`` is not a scope token (empty, or holding a
        space, ``"``, ``\\`` or a non-ASCII character).
    """

    execute_scope: str

    def __post_init__(self) -> None:
        if not isinstance(self.execute_scope, str) or not SCOPE_TOKEN.fullmatch(self.execute_scope):
            raise ConfigurationError(
                f"ScopeAccessControl needs one scope token (RFC 6749 §3.3), not {self.execute_scope!r}"
            )

    @property
    def requires_token(self) -> bool:
        return True

    @property
    def scopes(self) -> tuple[str, ...]:
        return (self.execute_scope,)

    def is_permitted(self, authorization: Authorization | None) -> bool:
        return authorization is not None and authorization.has_scope(self.execute_scope)


@dataclass(frozen=True)
class _Constant:
    permitted: bool
    label: str = field(compare=False)

    def __repr__(self) -> str:
        return self.label

    @property
    def requires_token(self) -> bool:
        return False

    @property
    def scopes(self) -> tuple[str, ...]:
        return ()

    def is_permitted(self, authorization: Authorization | None) -> bool:
        return self.permitted


#: Anybody, with or without a token (the default for actions without ``access_control``).
ALLOW_ALL: AccessControl = _Constant(True, "ALLOW_ALL")
#: Nobody: the action is never run over a transport (403), only in-process.
ALLOW_NONE: AccessControl = _Constant(False, "ALLOW_NONE")
