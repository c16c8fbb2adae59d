"""End-user access control: which :class:`~servey_faas.authorization.Authorization` may run an action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from servey_faas.authorization import Authorization


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
    """Permit callers whose token grants ``execute_scope``."""

    execute_scope: str

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

    @property
    def requires_token(self) -> bool:
        return False

    @property
    def scopes(self) -> tuple[str, ...]:
        return ()

    def is_permitted(self, authorization: Authorization | None) -> bool:
        return self.permitted


#: Anybody, with or without a token (the default for actions without ``access_control``).
ALLOW_ALL: AccessControl = _Constant(True)
#: Nobody: the action is never run over a transport (403), only in-process.
ALLOW_NONE: AccessControl = _Constant(False)
