"""Authenticating end users by bearer JWTs, and the one access decision every transport makes.

REST and GraphQL both call :func:`authorize`, so the same request gets the same answer over both:
no token where one is needed, or a malformed, badly signed, expired or not-yet-valid token →
:class:`~servey_faas.errors.UnauthorizedError` (HTTP 401 with ``WWW-Authenticate: Bearer``,
RFC 6750 §3); a valid token without the scope → :class:`~servey_faas.errors.ForbiddenError` (403).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from servey_faas.access_control import ALLOW_ALL, AccessControl
from servey_faas.authorization import Authorization
from servey_faas.errors import ConfigurationError, ForbiddenError, UnauthorizedError

if TYPE_CHECKING:
    from servey_faas.action import Action


class TokenVerifier(Protocol):
    """Turns a bearer token into a verified :class:`Authorization`.

    :raises UnauthorizedError: for any token that cannot be trusted.
    """

    def verify(self, token: str) -> Authorization: ...


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies JWTs with PyJWT (RFC 7519): signature, ``exp``, ``nbf``, ``iat`` and, when set,
    ``iss`` and ``aud``. ``key`` is the HS256 secret or the PEM public key for RS256/ES256;
    ``leeway`` is in seconds. Claims read: ``sub``, ``scope`` (space-separated, RFC 8693 §4.2),
    ``nbf``, ``exp``.
    """

    key: str
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 0.0

    def verify(self, token: str) -> Authorization:
        import jwt

        options = {"require": ["exp"], "verify_aud": self.audience is not None}
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError:
            raise UnauthorizedError("the bearer token has expired") from None
        except jwt.ImmatureSignatureError:
            raise UnauthorizedError("the bearer token is not valid yet") from None
        except jwt.PyJWTError as e:
            raise UnauthorizedError(f"invalid bearer token: {e}") from None
        return authorization_from_claims(claims)


def authorization_from_claims(claims: Mapping[str, Any]) -> Authorization:
    """The :class:`Authorization` of verified JWT claims."""
    scope = claims.get("scope") or ""
    scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
    return Authorization(
        subject_id=str(claims["sub"]) if claims.get("sub") is not None else None,
        scopes=frozenset(scopes),
        not_before=_timestamp(claims.get("nbf")),
        expire_at=_timestamp(claims.get("exp")),
    )


def _timestamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    return None


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1), or None.

    :raises UnauthorizedError: for a header that is not a bearer token.
    """
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def authorize(
    access_control: AccessControl | None, verifier: TokenVerifier | None, header: str | None
) -> Authorization | None:
    """The access decision for one call: the caller's :class:`Authorization` (None without a token).

    A token that is sent is always verified, even for an open action (a bad token is never ignored).

    :raises UnauthorizedError: no token where one is needed; a malformed or unverifiable token.
    :raises ForbiddenError: a valid token (or none) that the access control does not permit.
    """
    token = bearer_token(header)
    authorization = None
    if token is not None:
        if verifier is None:
            raise UnauthorizedError("bearer tokens are not accepted here: no JWT key is configured")
        authorization = verifier.verify(token)
    access = access_control or ALLOW_ALL
    if authorization is None and access.requires_token:
        raise UnauthorizedError("a bearer token is required")
    if not access.is_permitted(authorization):
        raise ForbiddenError(
            f"the token lacks the scope {' '.join(access.scopes)!r}" if access.scopes else "access is not allowed"
        )
    return authorization


@dataclass(frozen=True)
class JwtSettings:
    """JWT verification settings, read once from the environment.

    ``JWT_SECRET_KEY`` (HS256) or ``JWT_PUBLIC_KEY`` / ``JWT_PUBLIC_KEY_FILE`` (PEM; RS256 and
    ES256); ``JWT_ALGORITHMS`` (comma-separated) overrides the algorithms; ``JWT_ISSUER`` and
    ``JWT_AUDIENCE`` turn on the ``iss``/``aud`` checks; ``JWT_LEEWAY`` in seconds.
    """

    key: str | None = None
    algorithms: tuple[str, ...] = ()
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 0.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> JwtSettings:
        """:raises ConfigurationError: for an unreadable key file or a bad leeway."""
        secret = environ.get("JWT_SECRET_KEY") or None
        public = environ.get("JWT_PUBLIC_KEY") or None
        key_file = environ.get("JWT_PUBLIC_KEY_FILE") or None
        if public is None and key_file is not None:
            try:
                public = Path(key_file).read_text()
            except OSError as e:
                raise ConfigurationError(f"JWT_PUBLIC_KEY_FILE {key_file!r} cannot be read: {e}") from e
        if secret and public:
            raise ConfigurationError("set either JWT_SECRET_KEY (HS256) or a public key (RS256/ES256), not both")
        default = ("HS256",) if secret else ("RS256", "ES256") if public else ()
        algorithms = tuple(a.strip() for a in environ.get("JWT_ALGORITHMS", "").split(",") if a.strip()) or default
        try:
            leeway = float(environ.get("JWT_LEEWAY", "0"))
        except ValueError:
            raise ConfigurationError(f"JWT_LEEWAY must be seconds, not {environ.get('JWT_LEEWAY')!r}") from None
        issuer, audience = environ.get("JWT_ISSUER") or None, environ.get("JWT_AUDIENCE") or None
        return cls(secret or public, algorithms, issuer, audience, leeway)

    def verifier(self, actions: Iterable[Action] = ()) -> JwtVerifier | None:
        """The verifier, or None when no key is configured.

        :raises ConfigurationError: when an action needs tokens and no key is configured (there is
            never a silent random per-process key: tokens would fail across workers).
        """
        if self.key is None:
            protected = sorted(a.name for a in actions if a.access_control and a.access_control.requires_token)
            if protected:
                raise ConfigurationError(
                    f"actions {', '.join(protected)} need bearer tokens, but no JWT key is configured: "
                    "set JWT_SECRET_KEY (HS256) or JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_FILE (RS256/ES256)"
                )
            return None
        return JwtVerifier(self.key, self.algorithms, self.issuer, self.audience, self.leeway)
