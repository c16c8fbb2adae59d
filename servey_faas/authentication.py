"""Authenticating end users by bearer JWTs, and the one access decision every transport makes.

REST and GraphQL both call :func:`authorize`, so the same request gets the same answer over both:
no token where one is needed, or a malformed, badly signed, expired or not-yet-valid token →
:class:`~servey_faas.errors.UnauthorizedError` (HTTP 401 with ``WWW-Authenticate: Bearer``,
RFC 6750 §3); a valid token without the scope → :class:`~servey_faas.errors.ForbiddenError` (403).

Keys are read and checked once, at startup (:meth:`JwtSettings.verifier`): a PEM public key is
parsed there, not per request, and a key that cannot verify the configured algorithms is a
:class:`~servey_faas.errors.ConfigurationError`, never a 401 on every call.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from servey_faas.access_control import ALLOW_ALL, SCOPE_TOKEN, AccessControl
from servey_faas.authorization import Authorization
from servey_faas.errors import ConfigurationError, FieldError, ForbiddenError, UnauthorizedError, ValidationError

#: Every JWS algorithm servey_faas verifies (RFC 7518 §3.1, RFC 8037 for EdDSA), by key family.
#: ``none`` is never accepted.
ALGORITHM_FAMILIES: Mapping[str, str] = {
    "HS256": "hmac",
    "HS384": "hmac",
    "HS512": "hmac",
    "RS256": "rsa",
    "RS384": "rsa",
    "RS512": "rsa",
    "PS256": "rsa",
    "PS384": "rsa",
    "PS512": "rsa",
    "ES256": "ec",
    "ES256K": "ec",
    "ES384": "ec",
    "ES512": "ec",
    "EdDSA": "okp",
}
#: Minimum HMAC key length in bytes: the size of the hash output (RFC 7518 §3.2, a MUST).
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
#: The curve each ECDSA algorithm signs with (RFC 7518 §3.4; ES256K: RFC 8812).
_EC_CURVES = {"ES256": "secp256r1", "ES256K": "secp256k1", "ES384": "secp384r1", "ES512": "secp521r1"}
#: The smallest RSA modulus accepted, in bits (RFC 7518 §3.3: "2048 bits or larger MUST be used").
RSA_MIN_BITS = 2048


class TokenVerifier(Protocol):
    """Turns a bearer token into a verified :class:`Authorization`.

    :raises UnauthorizedError: for any token that cannot be trusted.
    """

    def verify(self, token: str) -> Authorization: ...


class _TokenUser(Protocol):
    """An action (or its invoker) that may need bearer tokens."""

    @property
    def name(self) -> str: ...

    @property
    def requires_token(self) -> bool: ...


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies JWTs with PyJWT (RFC 7519): signature, ``exp`` (required), ``nbf``, ``iat`` and, when
    set, ``iss`` and ``aud``.

    ``key`` is the HMAC secret (HS*), or a PEM public key or certificate (RS*, PS*, ES*, EdDSA);
    ``algorithms`` are the accepted ``alg`` values (empty: the one the key implies — HS256 for a
    secret, RS256 for RSA, ES256/ES384/ES512 by curve for EC, EdDSA for Ed25519/Ed448); ``leeway``
    is in seconds (≥ 0) and applies to ``exp``, ``nbf`` and ``iat``. The key is parsed and checked
    once, here. Claims read: ``sub``, ``scope`` (space-separated, RFC 8693 §4.2), ``nbf``, ``exp``;
    their types are checked (see :func:`authorization_from_claims`).

    :raises ConfigurationError: for an unknown algorithm (or ``none``), a key that cannot serve an
        algorithm, an HMAC secret shorter than the hash (RFC 7518 §3.2), an RSA key under 2048 bits,
        a private key where the public key belongs, or a negative or non-finite leeway.
    """

    key: Any = field(repr=False)
    algorithms: tuple[str, ...] = ()
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 0.0
    _prepared: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.leeway, (int, float)) and math.isfinite(self.leeway) and self.leeway >= 0):
            raise ConfigurationError(f"JWT leeway must be seconds >= 0, not {self.leeway!r}")
        prepared, algorithms = _prepare_key(self.key, tuple(self.algorithms))
        object.__setattr__(self, "_prepared", prepared)
        object.__setattr__(self, "algorithms", algorithms)

    def verify(self, token: str) -> Authorization:
        """The :class:`Authorization` of a valid ``token``.

        :raises UnauthorizedError: for a malformed, badly signed, expired or not-yet-valid token, a
            token without ``exp``, one failing the ``iss``/``aud`` checks, or one whose claims have
            the wrong types (see :func:`authorization_from_claims`).
        """
        import jwt

        options = {"require": ["exp"], "verify_aud": self.audience is not None}
        try:
            claims = jwt.decode(
                token,
                self._prepared,
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


def _prepare_key(key: Any, algorithms: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """The key object PyJWT verifies with, and the algorithms (defaulted from the key when empty)."""
    for alg in algorithms:
        if alg not in ALGORITHM_FAMILIES:
            raise ConfigurationError(
                f"JWT algorithm {alg!r} is not supported; use one of {', '.join(ALGORITHM_FAMILIES)}"
            )
    if isinstance(key, str) and not _is_pem(key):
        key = key.encode("utf-8")
    if isinstance(key, bytes) and not _is_pem(key.decode("utf-8", "replace")):
        return _prepare_secret(key, algorithms)
    public = _load_public_key(key)
    family, curve = _family_of(public)
    if not algorithms:
        algorithms = (_default_algorithm(family, curve),)
    for alg in algorithms:
        if ALGORITHM_FAMILIES[alg] != family or (family == "ec" and _EC_CURVES[alg] != curve):
            what = f"{family.upper()} key" + (f" on curve {curve}" if curve else "")
            raise ConfigurationError(f"JWT algorithm {alg} cannot be verified with the configured {what}")
    if family == "rsa" and public.key_size < RSA_MIN_BITS:
        raise ConfigurationError(
            f"the RSA public key has {public.key_size} bits; RFC 7518 §3.3 requires {RSA_MIN_BITS} or more"
        )
    return public, algorithms


def _prepare_secret(secret: bytes, algorithms: tuple[str, ...]) -> tuple[bytes, tuple[str, ...]]:
    algorithms = algorithms or ("HS256",)
    for alg in algorithms:
        if ALGORITHM_FAMILIES[alg] != "hmac":
            raise ConfigurationError(
                f"JWT algorithm {alg} needs a public key (JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_FILE), not a secret"
            )
        if len(secret) < _HMAC_MIN_BYTES[alg]:
            raise ConfigurationError(
                f"the JWT secret is {len(secret)} bytes; {alg} needs at least {_HMAC_MIN_BYTES[alg]} "
                "(RFC 7518 §3.2). Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
    return secret, algorithms


def _is_pem(text: str) -> bool:
    return text.lstrip().startswith("-----BEGIN ")


def _load_public_key(key: Any) -> Any:
    """A ``cryptography`` public key from a PEM public key or certificate (or a key object as is)."""
    if not isinstance(key, (str, bytes)):
        return key
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError as e:  # pragma: no cover - cryptography is a dependency (PyJWT[crypto])
        raise ConfigurationError(f"public-key JWT algorithms need the cryptography package: {e}") from e
    data = key.encode("utf-8") if isinstance(key, str) else key
    if b"PRIVATE KEY-----" in data:
        raise ConfigurationError("the JWT public key setting holds a private key; configure the public key only")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        return serialization.load_pem_public_key(data)
    except ValueError as e:
        raise ConfigurationError(f"the JWT public key is not a readable PEM public key or certificate: {e}") from e


def _family_of(public: Any) -> tuple[str, str | None]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(public, rsa.RSAPublicKey):
        return "rsa", None
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "ec", public.curve.name
    if isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "okp", None
    raise ConfigurationError(f"JWT keys of type {type(public).__name__} are not supported (RSA, EC or EdDSA)")


def _default_algorithm(family: str, curve: str | None) -> str:
    if family == "rsa":
        return "RS256"
    if family == "okp":
        return "EdDSA"
    for alg, alg_curve in _EC_CURVES.items():
        if alg_curve == curve:
            return alg
    raise ConfigurationError(f"EC keys on curve {curve} have no JWT algorithm (RFC 7518 §3.4)")


def authorization_from_claims(claims: Mapping[str, Any]) -> Authorization:
    """The :class:`Authorization` of verified JWT claims, after checking their types.

    Each claim may be absent; when present, ``sub`` is a string (RFC 7519 §4.1.2), ``scope`` a
    space-separated string (RFC 8693 §4.2) or a list of strings, and ``exp``, ``nbf`` and ``iat``
    are NumericDates (RFC 7519 §2: seconds since the epoch, a JSON number; a boolean or a numeric
    string is not) that a ``datetime`` can hold (years 1 to 9999 UTC).

    :raises UnauthorizedError: naming the first claim of another type or out of that range: the
        signature says who wrote the token, not that what it says makes sense; such a token grants
        nothing.
    """
    subject = claims.get("sub")
    if "sub" in claims and not isinstance(subject, str):
        raise _bad_claim("sub", "a string")
    scope = claims.get("scope", "")
    if isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scopes = scope
    else:
        raise _bad_claim("scope", "a space-separated string or a list of strings")
    dates = {name: _numeric_date(name, claims[name]) for name in ("exp", "nbf", "iat") if name in claims}
    return Authorization(
        subject_id=subject,
        scopes=frozenset(scopes),
        not_before=dates.get("nbf"),
        expire_at=dates.get("exp"),
    )


def _numeric_date(claim: str, value: Any) -> datetime.datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, ValueError, OSError):
            pass
    raise _bad_claim(claim, "a NumericDate (RFC 7519 §2) within years 1 to 9999")


def _bad_claim(claim: str, expected: str) -> UnauthorizedError:
    return UnauthorizedError(f"invalid bearer token: the {claim} claim must be {expected}")


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

    ``header`` is the raw ``Authorization`` header value (None when absent). A token that is sent
    is always verified, even for an open action (a bad token is never ignored).

    :raises UnauthorizedError: no token where one is needed; a malformed or unverifiable token.
    :raises ForbiddenError: a valid token (or none) that the access control does not permit.
    """
    if header is None and access_control is None:
        return None  # the hot path of open actions: nothing to verify, nothing to decide
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

    ``JWT_SECRET_KEY`` / ``JWT_SECRET_KEY_FILE`` (HS256, at least 32 bytes) or ``JWT_PUBLIC_KEY`` /
    ``JWT_PUBLIC_KEY_FILE`` (PEM public key or certificate; RS256 for RSA, ES256/ES384/ES512 by curve for EC, EdDSA);
    ``JWT_ALGORITHMS`` (comma-separated) overrides the algorithms the key implies; ``JWT_ISSUER``
    and ``JWT_AUDIENCE`` turn on the ``iss``/``aud`` checks; ``JWT_LEEWAY`` in seconds. ``key``
    never appears in a repr.
    """

    key: str | None = field(default=None, repr=False)
    algorithms: tuple[str, ...] = ()
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 0.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> JwtSettings:
        """Read the settings from ``environ``. Key material comes from a variable or from a file
        its ``_FILE`` variable names (``JWT_SECRET_KEY_FILE``, ``JWT_PUBLIC_KEY_FILE``), as an
        OpenFaaS secret mounted at ``/var/openfaas/secrets/<name>`` is read; surrounding whitespace
        of a secret file is trimmed (secret files often end with a newline).

        :raises ConfigurationError: for an unreadable key file, a variable set together with its
            ``_FILE`` variant, both a secret and a public key, or a bad leeway."""
        secret = _key_setting(environ, "JWT_SECRET_KEY")
        public = _key_setting(environ, "JWT_PUBLIC_KEY")
        if secret and public:
            raise ConfigurationError("set either JWT_SECRET_KEY (HS256) or a public key (RS256/ES256), not both")
        if public is not None and not _is_pem(public):
            raise ConfigurationError("JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_FILE must hold a PEM public key or certificate")
        if secret is not None and _is_pem(secret):
            raise ConfigurationError(
                "JWT_SECRET_KEY / JWT_SECRET_KEY_FILE holds a PEM key; put public keys in JWT_PUBLIC_KEY[_FILE]"
            )
        algorithms = tuple(a.strip() for a in environ.get("JWT_ALGORITHMS", "").split(",") if a.strip())
        leeway_text = environ.get("JWT_LEEWAY", "0")
        try:
            leeway = float(leeway_text)
        except ValueError:
            leeway = math.nan
        if not (math.isfinite(leeway) and leeway >= 0):
            raise ConfigurationError(f"JWT_LEEWAY must be seconds >= 0, not {leeway_text!r}")
        issuer, audience = environ.get("JWT_ISSUER") or None, environ.get("JWT_AUDIENCE") or None
        return cls(secret or public, algorithms, issuer, audience, leeway)

    @property
    def has_secret(self) -> bool:
        """True when the key is an HMAC secret (it can sign tokens), False for a public key or none."""
        return self.key is not None and not _is_pem(self.key)

    def verifier(self, actions: Iterable[_TokenUser] = ()) -> JwtVerifier | None:
        """The verifier, or None when no key is configured. ``actions`` are the app's actions (or
        their invokers): anything with a ``name`` and ``requires_token``.

        :raises ConfigurationError: when an action needs tokens and no key is configured (there is
            never a silent random per-process key: tokens would fail across workers), or when the
            key does not suit the algorithms (see :class:`JwtVerifier`).
        """
        if self.key is None:
            protected = sorted(a.name for a in actions if a.requires_token)
            if protected:
                names = ", ".join(repr(name) for name in protected)
                who = f"action {names} needs" if len(protected) == 1 else f"actions {names} need"
                raise ConfigurationError(
                    f"{who} bearer tokens, but no JWT key is configured: "
                    "set JWT_SECRET_KEY[_FILE] (HS256) or JWT_PUBLIC_KEY[_FILE] (RS256/ES256)"
                )
            return None
        return JwtVerifier(self.key, self.algorithms, self.issuer, self.audience, self.leeway)

    def signer(self) -> TokenSigner:
        """A :class:`TokenSigner` with the configured secret (for the opt-in dev token endpoint).

        :raises ConfigurationError: when no key is configured, or it is a public key (which cannot
            sign), or it does not suit the algorithms.
        """
        if self.key is None or not self.has_secret:
            raise ConfigurationError(
                "signing tokens needs an HMAC secret: set JWT_SECRET_KEY (or run the dev server with "
                "--generate-jwt-key); a public key cannot sign"
            )
        verifier = JwtVerifier(self.key, self.algorithms, self.issuer, self.audience, self.leeway)
        return TokenSigner(self.key, verifier.algorithms[0], self.issuer, self.audience)


#: The settings that hold JWT key material, each also readable from a file (``<NAME>_FILE``).
KEY_VARIABLES = ("JWT_SECRET_KEY", "JWT_PUBLIC_KEY")


def _key_setting(environ: Mapping[str, str], name: str) -> str | None:
    """The key in ``environ[name]``, or in the file ``environ[name + "_FILE"]`` names (whitespace
    trimmed; a PEM key keeps its lines); None when neither is set (empty counts as unset).

    :raises ConfigurationError: when both are set, or the file cannot be read or is empty.
    """
    value = environ.get(name) or None
    path = environ.get(f"{name}_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise ConfigurationError(f"set either {name} or {name}_FILE, not both")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigurationError(f"{name}_FILE {path!r} cannot be read: {reason}") from e
    if not text:
        raise ConfigurationError(f"{name}_FILE {path!r} is empty")
    return text + "\n" if _is_pem(text) else text


@dataclass(frozen=True)
class TokenSigner:
    """Signs JWTs with an HMAC secret, as :class:`JwtVerifier` verifies them (development only).

    ``algorithm`` is an HS* algorithm; ``issuer``/``audience`` go into ``iss``/``aud`` when set;
    ``max_ttl`` bounds the lifetime of a token, in seconds (default one day).
    """

    secret: str = field(repr=False)
    algorithm: str = "HS256"
    issuer: str | None = None
    audience: str | None = None
    max_ttl: int = 86400

    def issue(
        self, subject_id: str | None, scopes: Iterable[str], ttl: int, now: float | None = None
    ) -> dict[str, Any]:
        """A signed token for ``subject_id`` with ``scopes``, valid from ``now`` (seconds since the
        epoch; default the current time) for ``ttl`` seconds.

        Returns an RFC 6749 §5.1 token response: ``{"access_token": str, "token_type": "Bearer",
        "expires_in": ttl, "scope": "a b"}``.

        :raises ValidationError: for a ttl that is not a whole number of seconds in ``1..max_ttl``,
            or a scope that is not an RFC 6749 §3.3 scope token (locations ``ttl``, ``scopes``, i).
        """
        import jwt

        errors: list[FieldError] = []
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= self.max_ttl:
            errors.append(FieldError(("ttl",), f"must be whole seconds from 1 to {self.max_ttl}"))
        scope_list = list(scopes)
        errors += [
            FieldError(("scopes", i), "not a scope token (RFC 6749 §3.3)")
            for i, scope in enumerate(scope_list)
            if not isinstance(scope, str) or not SCOPE_TOKEN.fullmatch(scope)
        ]
        if errors:
            raise ValidationError(errors)
        issued_at = int(time.time() if now is None else now)
        claims: dict[str, Any] = {"iat": issued_at, "nbf": issued_at, "exp": issued_at + ttl}
        if subject_id is not None:
            claims["sub"] = subject_id
        if scope_list:
            claims["scope"] = " ".join(scope_list)
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        token = jwt.encode(claims, self.secret, algorithm=self.algorithm)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(scope_list)}
