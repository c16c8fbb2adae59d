"""Authentication: bearer headers, the JWT verifier (HS256/RS256/ES256/EdDSA), JwtSettings, authorize()
and the dev TokenSigner.

The key helpers at the top (``SECRET``, ``rsa_keys()``, ``ec_keys()``, ``sign()``) are shared with
the REST auth tests.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from servey_faas import ALLOW_ALL, ALLOW_NONE, WEB_GET, Authorization, ScopeAccessControl, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.authentication import (
    JwtSettings,
    JwtVerifier,
    TokenSigner,
    authorization_from_claims,
    authorize,
    bearer_token,
)
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError, ForbiddenError, UnauthorizedError, ValidationError
from servey_faas.settings import Settings

#: An HS256 secret of 43 bytes (RFC 7518 §3.2 wants at least 32).
SECRET = "test-secret-0123456789-abcdefghijklmnopqrst"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopq"


@dataclass(frozen=True)
class KeyPair:
    """A private key (PEM) to sign test tokens with, and its public key (PEM) for the server."""

    private_pem: str
    public_pem: str
    algorithm: str


def _pems(private: Any, algorithm: str) -> KeyPair:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem, public_pem, algorithm)


@functools.cache
def rsa_keys(bits: int = 2048, n: int = 0) -> KeyPair:
    """An RSA key pair for RS256 (``n`` tells several pairs of one size apart)."""
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=bits), "RS256")


@functools.cache
def ec_keys(algorithm: str = "ES256", n: int = 0) -> KeyPair:
    """An EC key pair on the curve of ``algorithm`` (ES256: P-256, ES384: P-384, ES512: P-521)."""
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[algorithm]
    return _pems(ec.generate_private_key(curve), algorithm)


def sign(key: str, algorithm: str = "HS256", *, lifetime: float = 300, **claims: Any) -> str:
    """A JWT signed with ``key``: ``sub`` alice, ``exp`` ``lifetime`` seconds from now, then ``claims``
    (a claim given as None is left out)."""
    now = time.time()
    payload: dict[str, Any] = {"sub": "alice", "iat": int(now), "exp": int(now + lifetime), **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm)


def hs_verifier(**options: Any) -> JwtVerifier:
    return JwtVerifier(SECRET, ("HS256",), **options)


# --- bearer_token (RFC 6750 §2.1) -----------------------------------------------------------------


def test_no_header_is_no_token() -> None:
    assert bearer_token(None) is None


@pytest.mark.parametrize(
    "header", ["Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER  abc.def.ghi ", " Bearer abc.def.ghi"]
)
def test_the_bearer_scheme_is_case_insensitive_and_spaces_are_trimmed(header: str) -> None:
    assert bearer_token(header) == "abc.def.ghi"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "abc.def.ghi", "Token abc"])
def test_anything_but_a_bearer_token_is_unauthorized(header: str) -> None:
    with pytest.raises(UnauthorizedError, match="Bearer <token>"):
        bearer_token(header)


# --- JwtVerifier ---------------------------------------------------------------------------------


def test_a_valid_hs256_token_gives_its_authorization() -> None:
    now = int(time.time())
    token = sign(SECRET, scope="orders:read orders:write", nbf=now - 10, exp=now + 60)
    auth = hs_verifier().verify(token)
    assert auth == Authorization(
        subject_id="alice",
        scopes=frozenset({"orders:read", "orders:write"}),
        not_before=datetime.datetime.fromtimestamp(now - 10, tz=datetime.UTC),
        expire_at=datetime.datetime.fromtimestamp(now + 60, tz=datetime.UTC),
    )


def test_a_token_without_sub_or_scope_has_neither() -> None:
    auth = hs_verifier().verify(sign(SECRET, sub=None))
    assert auth.subject_id is None and auth.scopes == frozenset()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("garbage", "invalid bearer token"),
        ("a.b.c", "invalid bearer token"),
        (sign(OTHER_SECRET), "Signature verification failed"),
        (sign(SECRET, lifetime=-60), "has expired"),
        (sign(SECRET, nbf=int(time.time()) + 3600), "not valid yet"),
        (sign(SECRET, iat=int(time.time()) + 3600), "not valid yet"),
        (sign(SECRET, exp=None), "exp"),
        (sign(SECRET, exp="tomorrow"), "invalid bearer token"),
        (jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, None, algorithm="none"), "invalid bearer token"),  # type: ignore[arg-type]
    ],
    ids=[
        "garbage",
        "segments",
        "bad-signature",
        "expired",
        "nbf-future",
        "iat-future",
        "no-exp",
        "bad-exp",
        "alg-none",
    ],
)
def test_untrustworthy_tokens_are_unauthorized(token: str, message: str) -> None:
    with pytest.raises(UnauthorizedError, match=message):
        hs_verifier().verify(token)


def test_leeway_accepts_a_token_that_expired_within_it() -> None:
    token = sign(SECRET, lifetime=-10)
    with pytest.raises(UnauthorizedError):
        hs_verifier().verify(token)
    assert hs_verifier(leeway=3600).verify(token).subject_id == "alice"


def test_issuer_and_audience_are_checked_when_configured() -> None:
    verifier = hs_verifier(issuer="https://issuer.example", audience="orders-api")
    good = sign(SECRET, iss="https://issuer.example", aud="orders-api")
    assert verifier.verify(good).subject_id == "alice"
    assert verifier.verify(sign(SECRET, iss="https://issuer.example", aud=["x", "orders-api"])).subject_id == "alice"
    for bad in (
        sign(SECRET, iss="https://evil.example", aud="orders-api"),
        sign(SECRET, aud="orders-api"),
        sign(SECRET, iss="https://issuer.example", aud="billing-api"),
        sign(SECRET, iss="https://issuer.example"),
    ):
        with pytest.raises(UnauthorizedError):
            verifier.verify(bad)


def test_an_audience_in_the_token_is_ignored_when_none_is_configured() -> None:
    assert hs_verifier().verify(sign(SECRET, aud="anything")).subject_id == "alice"


def test_rs256_with_a_pem_public_key() -> None:
    keys = rsa_keys()
    verifier = JwtVerifier(keys.public_pem)
    assert verifier.algorithms == ("RS256",)
    assert verifier.verify(sign(keys.private_pem, "RS256", scope="a")).scopes == frozenset({"a"})
    with pytest.raises(UnauthorizedError, match="Signature"):
        verifier.verify(sign(rsa_keys(n=1).private_pem, "RS256"))


@pytest.mark.parametrize("algorithm", ["ES256", "ES384", "ES512"])
def test_ecdsa_algorithms_follow_the_curve_of_the_key(algorithm: str) -> None:
    keys = ec_keys(algorithm)
    verifier = JwtVerifier(keys.public_pem)
    assert verifier.algorithms == (algorithm,)
    assert verifier.verify(sign(keys.private_pem, algorithm)).subject_id == "alice"


def test_eddsa_with_an_ed25519_key() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    keys = _pems(private, "EdDSA")
    verifier = JwtVerifier(keys.public_pem)
    assert verifier.algorithms == ("EdDSA",)
    assert verifier.verify(sign(keys.private_pem, "EdDSA")).subject_id == "alice"


def test_a_pem_certificate_is_read_for_its_public_key() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    verifier = JwtVerifier(certificate.public_bytes(serialization.Encoding.PEM).decode())
    keys = _pems(private, "ES256")
    assert verifier.verify(sign(keys.private_pem, "ES256")).subject_id == "alice"


def test_a_token_of_another_algorithm_is_refused() -> None:
    keys = rsa_keys()
    with pytest.raises(UnauthorizedError, match="alg value is not allowed"):
        hs_verifier().verify(sign(keys.private_pem, "RS256"))
    with pytest.raises(UnauthorizedError, match="alg value is not allowed"):
        JwtVerifier(keys.public_pem).verify(sign(SECRET, "HS256"))


def test_the_public_key_used_as_an_hmac_secret_is_refused() -> None:
    """The RS256/HS256 confusion: a token HMAC-signed with the (public) PEM must not verify.

    PyJWT refuses a PEM as an HMAC key when signing too, so the token is made by hand."""
    keys = rsa_keys()

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "mallory", "exp": 9999999999}).encode())
    mac = hmac.new(keys.public_pem.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{b64(mac)}"
    with pytest.raises(UnauthorizedError):
        JwtVerifier(keys.public_pem).verify(forged)
    with pytest.raises(UnauthorizedError):
        JwtVerifier(keys.public_pem, ("RS256", "PS256")).verify(forged)


def test_scopes_may_also_be_a_json_array() -> None:
    assert hs_verifier().verify(sign(SECRET, scope=["a", "b"])).scopes == frozenset({"a", "b"})


def test_the_key_never_appears_in_a_repr() -> None:
    assert SECRET not in repr(hs_verifier())
    assert SECRET not in repr(JwtSettings(SECRET, ("HS256",)))
    assert SECRET not in repr(TokenSigner(SECRET))


# --- keys and algorithms are checked at startup ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "algorithms", "message"),
    [
        (SECRET, ("none",), "not supported"),
        (SECRET, ("HS257",), "not supported"),
        ("short", ("HS256",), "at least 32"),
        (SECRET, ("HS512",), "at least 64"),
        (SECRET, ("RS256",), "needs a public key"),
        ("rsa-public", ("HS256",), "cannot be verified"),
        ("rsa-public", ("ES256",), "cannot be verified"),
        ("ec-p384-public", ("ES256",), "cannot be verified"),
        ("rsa-1024-public", (), "2048"),
        ("rsa-private", (), "private key"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", (), "not a readable PEM"),
    ],
)
def test_a_key_that_cannot_serve_is_a_configuration_error(key: str, algorithms: tuple[str, ...], message: str) -> None:
    named = {
        "rsa-public": lambda: rsa_keys().public_pem,
        "rsa-private": lambda: rsa_keys().private_pem,
        "rsa-1024-public": lambda: rsa_keys(1024).public_pem,
        "ec-p384-public": lambda: ec_keys("ES384").public_pem,
    }
    real_key = named[key]() if key in named else key
    with pytest.raises(ConfigurationError, match=message):
        JwtVerifier(real_key, algorithms)


@pytest.mark.parametrize("leeway", [-1.0, float("inf"), float("nan")])
def test_a_negative_or_infinite_leeway_is_a_configuration_error(leeway: float) -> None:
    with pytest.raises(ConfigurationError, match="leeway"):
        JwtVerifier(SECRET, (), leeway=leeway)


def test_several_algorithms_of_one_family_may_be_accepted() -> None:
    verifier = JwtVerifier(SECRET + SECRET, ("HS256", "HS384"))
    assert verifier.verify(sign(SECRET + SECRET, "HS384")).subject_id == "alice"
    assert verifier.verify(sign(SECRET + SECRET, "HS256")).subject_id == "alice"
    with pytest.raises(UnauthorizedError):
        verifier.verify(sign(SECRET + SECRET + SECRET, "HS512"))


# --- JwtSettings ---------------------------------------------------------------------------------


def test_no_settings_no_key() -> None:
    settings = JwtSettings.from_environ({})
    assert settings == JwtSettings()
    assert settings.verifier() is None
    assert not settings.has_secret


def test_a_secret_from_the_environment() -> None:
    settings = JwtSettings.from_environ(
        {"JWT_SECRET_KEY": SECRET, "JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud", "JWT_LEEWAY": "2.5"}
    )
    assert settings == JwtSettings(SECRET, (), "iss", "aud", 2.5)
    assert settings.has_secret
    verifier = settings.verifier()
    assert verifier is not None
    assert (verifier.algorithms, verifier.issuer, verifier.audience, verifier.leeway) == (("HS256",), "iss", "aud", 2.5)


def test_a_public_key_from_the_environment_or_a_file(tmp_path: Path) -> None:
    keys = ec_keys()
    from_env = JwtSettings.from_environ({"JWT_PUBLIC_KEY": keys.public_pem})
    key_file = tmp_path / "jwt.pem"
    key_file.write_text(keys.public_pem)
    from_file = JwtSettings.from_environ({"JWT_PUBLIC_KEY_FILE": str(key_file)})
    assert from_env == from_file
    assert not from_env.has_secret
    verifier = from_file.verifier()
    assert verifier is not None and verifier.verify(sign(keys.private_pem, "ES256")).subject_id == "alice"


def test_a_secret_from_a_file_as_openfaas_mounts_it(tmp_path: Path) -> None:
    key_file = tmp_path / "jwt-secret-key"
    key_file.write_text(SECRET + "\n")  # a secret file may end with a newline
    settings = JwtSettings.from_environ({"JWT_SECRET_KEY_FILE": str(key_file)})
    assert settings.key == SECRET and settings.has_secret
    verifier = settings.verifier()
    assert verifier is not None and verifier.verify(sign(SECRET)).subject_id == "alice"


def test_algorithms_are_a_comma_separated_list() -> None:
    settings = JwtSettings.from_environ({"JWT_SECRET_KEY": SECRET + SECRET, "JWT_ALGORITHMS": " HS256, HS384 ,"})
    assert settings.algorithms == ("HS256", "HS384")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"JWT_SECRET_KEY": SECRET, "JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"}, "not both"),
        ({"JWT_PUBLIC_KEY_FILE": "/nonexistent/jwt.pem"}, "cannot be read"),
        ({"JWT_PUBLIC_KEY": "ssh-rsa AAAA..."}, "PEM"),
        ({"JWT_SECRET_KEY": "-----BEGIN PUBLIC KEY-----\n..."}, "JWT_PUBLIC_KEY"),
        ({"JWT_SECRET_KEY_FILE": "/nonexistent/jwt-key"}, "JWT_SECRET_KEY_FILE '/nonexistent/jwt-key' cannot be read"),
        ({"JWT_SECRET_KEY": SECRET, "JWT_SECRET_KEY_FILE": "/etc/hostname"}, "JWT_SECRET_KEY or JWT_SECRET_KEY_FILE"),
        ({"JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----", "JWT_PUBLIC_KEY_FILE": "/x"}, "not both"),
        ({"JWT_SECRET_KEY_FILE": "/dev/null"}, "is empty"),
        ({"JWT_LEEWAY": "soon"}, "JWT_LEEWAY"),
        ({"JWT_LEEWAY": "-5"}, "JWT_LEEWAY"),
        ({"JWT_LEEWAY": "nan"}, "JWT_LEEWAY"),
    ],
)
def test_bad_environments_are_configuration_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        JwtSettings.from_environ(environ)


def test_settings_load_reads_the_jwt_settings_and_the_debug_authenticator() -> None:
    settings = Settings.load(environ={"JWT_SECRET_KEY": SECRET, "SERVEY_DEBUG_AUTHENTICATOR": "1"})
    assert settings.jwt.key == SECRET
    assert settings.debug_authenticator
    assert not Settings.load(environ={}).debug_authenticator
    assert not Settings.load(environ={"SERVEY_DEBUG_AUTHENTICATOR": "0"}).debug_authenticator


@action(triggers=(WEB_GET,), access_control=ScopeAccessControl("orders:read"))
def list_orders() -> list[str]:
    return []


@action(triggers=(WEB_GET,))
def whoami(authorization: Authorization) -> str:
    return authorization.subject_id or ""


@action(triggers=(WEB_GET,))
def maybe_whoami(authorization: Authorization | None = None) -> str:
    return authorization.subject_id if authorization and authorization.subject_id else "anonymous"


@action(triggers=(WEB_GET,), access_control=ALLOW_NONE)
def never() -> str:
    return ""


def registry(*fns: Any) -> ActionRegistry:
    return ActionRegistry(a for a in map(get_action, fns) if a is not None)


def test_protected_actions_without_a_key_fail_at_startup_naming_them() -> None:
    with pytest.raises(ConfigurationError) as info:
        ServeyApp.from_registry(registry(list_orders, whoami, maybe_whoami, never), Settings())
    message = str(info.value)
    assert "actions 'list_orders', 'whoami' need bearer tokens" in message
    assert "JWT_SECRET_KEY" in message and "JWT_PUBLIC_KEY" in message


def test_actions_that_never_need_a_token_start_without_a_key() -> None:
    app = ServeyApp.from_registry(registry(maybe_whoami, never), Settings())
    assert app.verifier is None


def test_with_a_key_the_app_has_a_verifier() -> None:
    app = ServeyApp.from_registry(registry(list_orders, whoami, maybe_whoami), Settings(jwt=JwtSettings(SECRET)))
    assert isinstance(app.verifier, JwtVerifier)
    assert app.invokers["whoami"].requires_token and not app.invokers["maybe_whoami"].requires_token


def test_what_verifies_no_token_needs_no_key() -> None:
    app = ServeyApp.from_registry(registry(list_orders, whoami), Settings(), verify_tokens=False)
    assert app.verifier is None and set(app.invokers) == {"list_orders", "whoami"}


def test_which_actions_read_the_callers_token() -> None:
    app = ServeyApp.from_registry(registry(list_orders, whoami, maybe_whoami, never), Settings(), verify_tokens=False)
    reads = {name for name, invoker in app.invokers.items() if invoker.reads_token}
    assert reads == {"list_orders", "whoami", "maybe_whoami"}  # ALLOW_NONE decides without a token


def test_a_bad_key_fails_at_startup_even_without_protected_actions() -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        ServeyApp.from_registry(registry(never), Settings(jwt=JwtSettings("short")))


# --- authorize(): the one decision ----------------------------------------------------------------

VERIFIER = JwtVerifier(SECRET)
READ = ScopeAccessControl("orders:read")


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_open_actions_without_a_token_are_anonymous() -> None:
    assert authorize(None, VERIFIER, None) is None
    assert authorize(ALLOW_ALL, VERIFIER, None) is None
    assert authorize(None, None, None) is None


def test_open_actions_still_verify_a_token_that_is_sent() -> None:
    assert authorize(None, VERIFIER, bearer(sign(SECRET))) == VERIFIER.verify(sign(SECRET))
    with pytest.raises(UnauthorizedError):
        authorize(None, VERIFIER, bearer("garbage"))
    with pytest.raises(UnauthorizedError):
        authorize(ALLOW_ALL, VERIFIER, "Basic dXNlcjpwYXNz")


def test_a_token_without_a_configured_key_is_unauthorized() -> None:
    with pytest.raises(UnauthorizedError, match="no JWT key"):
        authorize(None, None, bearer(sign(SECRET)))


def test_the_scope_decision() -> None:
    with pytest.raises(UnauthorizedError, match="required"):
        authorize(READ, VERIFIER, None)
    with pytest.raises(ForbiddenError, match="orders:read"):
        authorize(READ, VERIFIER, bearer(sign(SECRET, scope="orders:write")))
    auth = authorize(READ, VERIFIER, bearer(sign(SECRET, scope="orders:write orders:read")))
    assert auth is not None and auth.has_scope("orders:read")


def test_an_invalid_token_is_unauthorized_before_the_scope_is_looked_at() -> None:
    with pytest.raises(UnauthorizedError, match="expired"):
        authorize(READ, VERIFIER, bearer(sign(SECRET, scope="orders:read", lifetime=-60)))


def test_allow_none_is_forbidden_with_or_without_a_token() -> None:
    with pytest.raises(ForbiddenError, match="not allowed"):
        authorize(ALLOW_NONE, VERIFIER, None)
    with pytest.raises(ForbiddenError):
        authorize(ALLOW_NONE, VERIFIER, bearer(sign(SECRET, scope="orders:read")))
    with pytest.raises(UnauthorizedError):
        authorize(ALLOW_NONE, VERIFIER, bearer("garbage"))


def test_authorization_from_claims() -> None:
    assert authorization_from_claims({"sub": "42", "scope": " a  b ", "exp": 0, "nbf": 1.5}) == Authorization(
        "42",
        frozenset({"a", "b"}),
        datetime.datetime.fromtimestamp(1.5, tz=datetime.UTC),
        datetime.datetime.fromtimestamp(0, tz=datetime.UTC),
    )
    assert authorization_from_claims({}) == Authorization()
    assert authorization_from_claims({"scope": []}) == Authorization()
    assert authorization_from_claims({"exp": 253402300799, "iat": -62135596800}).expire_at == datetime.datetime(
        9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC
    )


#: Claims of the wrong type or out of range, by the claim named in the refusal.
HOSTILE_CLAIMS: list[tuple[str, Any]] = [
    ("scope", 5),
    ("scope", {"admin": True}),
    ("scope", ["admin", 5]),
    ("scope", [["admin"]]),
    ("scope", None),
    ("scope", True),
    ("sub", 42),
    ("sub", ["alice"]),
    ("exp", 10**30),
    ("exp", -(10**30)),
    ("exp", 1e308),
    ("exp", 253402300800),
    ("exp", "99999999999"),
    ("exp", [99999999999]),
    ("nbf", 10**30),
    ("nbf", True),
    ("nbf", "0"),
    ("iat", -(10**30)),
    ("iat", {"t": 0}),
]


@pytest.mark.parametrize(("claim", "value"), HOSTILE_CLAIMS, ids=[f"{c}={v!r}" for c, v in HOSTILE_CLAIMS])
def test_claims_of_another_type_are_refused_not_read(claim: str, value: Any) -> None:
    claims = {"sub": "alice", "scope": "a", "exp": 2000000000, claim: value}
    with pytest.raises(UnauthorizedError, match=f"invalid bearer token: the {claim} claim must be"):
        authorization_from_claims(claims)


def sign_payload(payload: bytes | dict[str, Any], key: str = SECRET) -> str:
    """A validly signed HS256 JWS of ``payload`` (a claims object is written as JSON as it is:
    PyJWT's ``encode`` would refuse some of the claims these tests send)."""
    data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return jwt.api_jws.encode(data, key, algorithm="HS256")


def hostile_token(claim: str, value: Any) -> str:
    """A validly signed token, valid for an hour, whose ``claim`` is ``value``."""
    return sign_payload({"sub": "alice", "scope": "a", "exp": int(time.time()) + 3600, claim: value})


@pytest.mark.parametrize(("claim", "value"), HOSTILE_CLAIMS, ids=[f"{c}={v!r}" for c, v in HOSTILE_CLAIMS])
def test_validly_signed_tokens_with_hostile_claims_are_unauthorized(claim: str, value: Any) -> None:
    # Some are refused by PyJWT first (an exp far in the past has expired), the others by their type.
    with pytest.raises(UnauthorizedError):
        hs_verifier().verify(hostile_token(claim, value))


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2]", b"5", b'{"exp": NaN}', b'{"exp": Infinity}', b"[" * 100_000 + b"]" * 100_000, b"\xff"],
    ids=["array", "number", "nan", "infinity", "deep", "not-utf8"],
)
def test_validly_signed_payloads_that_are_no_claims_set_are_unauthorized(payload: bytes) -> None:
    with pytest.raises(UnauthorizedError, match="invalid bearer token"):
        hs_verifier().verify(sign_payload(payload))


@pytest.mark.parametrize(
    ("claims", "options"),
    [
        ({"iss": 5}, {"issuer": "https://id.example"}),
        ({"iss": ["https://id.example"]}, {"issuer": "https://id.example"}),
        ({"aud": 5}, {"audience": "api"}),
        ({"aud": {"api": True}}, {"audience": "api"}),
        ({"aud": [5]}, {"audience": "api"}),
        ({"jti": 5}, {}),
    ],
)
def test_issuer_and_audience_of_another_type_are_unauthorized(claims: dict[str, Any], options: dict[str, Any]) -> None:
    with pytest.raises(UnauthorizedError, match="invalid bearer token"):
        hs_verifier(**options).verify(sign_payload({"exp": int(time.time()) + 60, **claims}))


# --- TokenSigner (the dev token endpoint) ----------------------------------------------------------


def test_a_signed_token_verifies_with_the_same_settings() -> None:
    settings = JwtSettings(SECRET, (), "https://dev.example", "api")
    issued = settings.signer().issue("ann", ["orders:read", "orders:write"], 600, now=time.time())
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 600
    assert issued["scope"] == "orders:read orders:write"
    verifier = settings.verifier()
    assert verifier is not None
    auth = verifier.verify(issued["access_token"])
    assert auth.subject_id == "ann" and auth.scopes == frozenset({"orders:read", "orders:write"})
    assert auth.expire_at is not None and auth.not_before is not None
    assert (auth.expire_at - auth.not_before).total_seconds() == 600
    claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "https://dev.example" and claims["aud"] == "api"
    assert jwt.get_unverified_header(issued["access_token"])["alg"] == "HS256"


def test_the_signer_uses_the_first_configured_hmac_algorithm() -> None:
    settings = JwtSettings(SECRET + SECRET, ("HS384", "HS256"))
    token = settings.signer().issue(None, [], 60)["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS384"
    assert "sub" not in jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize(
    ("ttl", "scopes", "locations"),
    [
        (0, [], [("ttl",)]),
        (86401, [], [("ttl",)]),
        (1.5, [], [("ttl",)]),
        (True, [], [("ttl",)]),
        (60, ["ok", "not ok", 3], [("scopes", 1), ("scopes", 2)]),
    ],
)
def test_the_signer_validates_ttl_and_scopes(ttl: Any, scopes: list[Any], locations: list[tuple[Any, ...]]) -> None:
    with pytest.raises(ValidationError) as info:
        TokenSigner(SECRET).issue("ann", scopes, ttl)
    assert [e.location for e in info.value.errors] == locations


@pytest.mark.parametrize("settings", [JwtSettings(), JwtSettings("-----BEGIN PUBLIC KEY-----\n")])
def test_only_a_secret_can_sign(settings: JwtSettings) -> None:
    with pytest.raises(ConfigurationError, match="JWT_SECRET_KEY"):
        settings.signer()


def test_an_action_receiving_an_authorization_may_have_examples() -> None:
    from servey_faas import Example

    @action(triggers=(WEB_GET,), examples=(Example("tea", {"item": "tea"}, "alice:tea"),))
    def order(item: str, authorization: Authorization) -> str:
        return f"{authorization.subject_id}:{item}"

    app = ServeyApp.from_registry(registry(order), Settings(jwt=JwtSettings(SECRET)))
    invoker = app.invokers["order"]
    assert invoker.invoke_sync({"item": "tea"}, Authorization("alice")) == "alice:tea"
    with pytest.raises(UnauthorizedError):
        invoker.invoke_sync({"item": "tea"})


def test_one_protected_action_without_a_key_is_named_in_the_singular() -> None:
    with pytest.raises(ConfigurationError, match=r"^action 'whoami' needs bearer tokens, but no JWT key is configured"):
        ServeyApp.from_registry(registry(whoami, maybe_whoami), Settings())
