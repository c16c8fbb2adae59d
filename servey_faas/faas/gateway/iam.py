"""OpenFaaS IAM on the local gateway (``docs/openfaas.md#iam-and-function-tokens``): the RFC 8693 token endpoint, the
OIDC discovery document and JWKS, and of-watchdog's ``jwt_auth`` checks in front of functions.

**Signing key.** One ES256 (P-256) key per state folder, made on first start and kept in
``<state>/iam/signing-key.pem`` (mode 0600, the folder 0700), so tokens stay valid across
restarts. Its ``kid`` is its RFC 7638 JWK thumbprint. Delete the file to rotate it (every issued
token then fails with 401).

**Subjects.** A local gateway has no identity provider or policies. It trusts two subject tokens:

* the gateway's **basic-auth password** (the ``basic-auth-password`` file of the state folder,
  printed by ``--run=gateway``), which acts as the admin's API token: the subject is the basic-auth
  user and its one policy grants ``Function:Invoke`` on ``*``;
* a **gateway API token** this gateway issued (``docs/openfaas.md#gateway-tokens-and-function-tokens``), to get function
  tokens from it; among them the **service account token** it gives every function it runs (below).

It may also be given **subject tokens** (opaque strings) to trust, as Enterprise trusts the tokens
of an identity provider; the fake gateway of the tests does (``subject_tokens``). Anything else (a
function token included) is 400 ``invalid_request`` ``No policies found for subject: …``. A
gateway without basic auth trusts no subject: turn basic auth on to use IAM.

**Service account tokens.** As Kubernetes projects a service account token into a pod, the gateway
writes ``<state>/tokens/<ns>/<name>/openfaas-token`` (mode 0600) before it starts a function's
replicas and sets ``token_mount_path`` to that folder (unless the deployment sets it), so
``ServiceAccountTokenSource`` (``docs/openfaas.md#upstream-token-sources``) finds it: a gateway API token for
``system:serviceaccount:<ns>:<name>`` with no ``exp`` (rotating the signing key revokes it), issued
for the URL the function reaches the gateway on (``public_url``, else its ``OPENFAAS_URL``). The
API router with function auth exchanges it for function tokens of the actions it calls. It is
exchanged for function tokens only and not accepted on ``/system/*``. (The functions run as the
gateway's own OS user, so this is no boundary against a function that reads the state folder.)

**Issuer.** ``iss`` = ``aud`` = the gateway's public URL (``docs/openfaas.md#token-exchange``): ``public_url`` when set,
else the base URL the request came in on (``http://127.0.0.1:8080``), so a token is accepted on invocations through the
same address it was asked at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.gateway.protocol import (
    JWT_EXEMPT_PATHS,
    bearer_token,
    exchange_form,
    exchange_refused,
    function_claim_allows,
    jwt_forbidden,
    jwt_invalid,
    jwt_missing,
    no_policies,
    oauth_error,
)
from servey_faas.faas.gateway.state import write_private

#: Where the signing key is kept, under the state folder.
KEY_FILE = Path("iam") / "signing-key.pem"
#: Where the functions' service account tokens are kept, under the state folder (``<ns>/<name>/openfaas-token``).
TOKEN_DIR = Path("tokens")
#: ``sub`` of a function's service account token: ``system:serviceaccount:<ns>:<name>`` (as Kubernetes).
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
#: ``expires_in`` of issued tokens (seconds), as the Enterprise gateway's default (``docs/openfaas.md#token-exchange``).
TOKEN_TTL = 3600
#: The policy the basic-auth user holds: ``Function:Invoke`` on every function
#: (``docs/openfaas.md#gateway-tokens-and-function-tokens``).
ADMIN_POLICY = "servey-faas-local-admin"
#: ``exp``/``nbf`` leeway of the watchdog's check, seconds (``docs/openfaas.md#token-checks-in-of-watchdog``).
LEEWAY = 1.0
_ALGORITHM = "ES256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_or_create_key(state_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The P-256 signing key of ``state_dir`` (``iam/signing-key.pem``), made (mode 0600) when missing.

    :raises ValueError: when the file exists but is not a PEM P-256 private key.
    """
    path = state_dir / KEY_FILE
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} is not a P-256 private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(path, pem)
    return key


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public JWK of ``key`` (RFC 7517/7518: ``kty=EC``, ``crv=P-256``, ``x``, ``y``) with
    ``kid`` = its RFC 7638 thumbprint (SHA-256, base64url), ``use=sig`` and ``alg=ES256``."""
    numbers = key.public_numbers()
    core = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    thumbprint = _b64url(hashlib.sha256(json.dumps(core, separators=(",", ":"), sort_keys=True).encode()).digest())
    return {**core, "kid": thumbprint, "use": "sig", "alg": _ALGORITHM}


@dataclass(frozen=True)
class Admin:
    """The one trusted subject: the basic-auth ``user`` and ``password`` (kept out of ``repr``)."""

    user: str
    password: str = ""

    def __repr__(self) -> str:
        return f"Admin(user={self.user!r})"


class LocalIAM:
    """The local gateway's token issuer and its ``jwt_auth`` checks (see the module docstring).

    ``admin`` is the trusted subject (``None``: none); ``subject_tokens`` more trusted subject
    tokens (read at each exchange: the collection may change); ``public_url`` the issuer (``None``:
    the request's base URL); ``token_ttl`` seconds; ``clock`` Unix seconds.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        admin: Admin | None,
        *,
        public_url: str | None = None,
        token_ttl: int = TOKEN_TTL,
        clock: Callable[[], float] = time.time,
        subject_tokens: Collection[str] = (),
    ) -> None:
        self.rotate_key(key)
        self.admin = admin
        self.subject_tokens = subject_tokens
        self.public_url = public_url.rstrip("/") if public_url else None
        self.token_ttl = token_ttl
        self._clock = clock

    def rotate_key(self, key: ec.EllipticCurvePrivateKey) -> None:
        """Sign with ``key`` from now on: every token issued before fails with 401."""
        self._key = key
        self.jwk = public_jwk(key.public_key())
        self.kid = self.jwk["kid"]

    @property
    def trusts_anyone(self) -> bool:
        """Whether some subject is trusted, so that tokens can be had."""
        return self.admin is not None or bool(self.subject_tokens)

    def issuer(self, request: Request) -> str:
        """The issuer for ``request``: ``public_url``, or ``scheme://host[:port]`` it came in on."""
        if self.public_url:
            return self.public_url
        return f"{request.url.scheme}://{request.url.netloc}"

    # --- documents -----------------------------------------------------------------------------

    def discovery(self, request: Request) -> Response:
        """``GET /.well-known/openid-configuration``: ``issuer``, ``jwks_uri``, ``token_endpoint``
        and what they support (OpenID Connect Discovery 1.0 §3; read by the watchdog,
        ``docs/openfaas.md#token-checks-in-of-watchdog``)."""
        issuer = self.issuer(request)
        return JSONResponse(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "token_endpoint": f"{issuer}/oauth/token",
                "grant_types_supported": ["urn:ietf:params:oauth:grant-type:token-exchange"],
                "token_endpoint_auth_methods_supported": ["none"],
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [_ALGORITHM],
                "scopes_supported": ["function"],
            }
        )

    def jwks(self, request: Request) -> Response:
        """``GET /.well-known/jwks.json``: ``{"keys": [<the signing key's public JWK>]}`` (RFC 7517 §5)."""
        return JSONResponse({"keys": [self.jwk]})

    # --- the token endpoint --------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        """``POST /oauth/token`` (RFC 8693, ``docs/openfaas.md#token-exchange``): exchange a trusted ``subject_token``
        for an ES256 JWT. Without ``scope``: a gateway API token; with ``scope=function``: a
        function token whose ``function`` claim has ``permissions`` ``["*"]`` and ``audience``
        the ``audience`` fields (``ns:name``, ``ns:*`` or ``*``; none: any function).

        200 ``{access_token, token_type: "Bearer", expires_in, scope, issued_token_type}``; 400
        OAuth errors: ``unsupported_grant_type``, ``invalid_request`` (no subject token, or
        ``No policies found for subject: …``), ``invalid_scope`` (a scope other than
        ``function``), ``invalid_target`` (an audience not ``ns:name``, or audiences without
        ``scope=function``). Other methods: 405.
        """
        if request.method != "POST":
            return Response(b"", 405, headers={"Allow": "POST"})
        form = exchange_form(await request.body())
        refused = exchange_refused(form)
        if refused is not None:
            return refused
        issuer = self.issuer(request)
        subject = form["subject_token"][0]
        upstream = self._subject(subject, issuer)
        if upstream is None:
            return no_policies(subject)
        scope = " ".join(form.get("scope", [])).split()
        unknown = [s for s in scope if s != "function"]
        if unknown:
            return oauth_error("invalid_scope", f"unsupported scope: {' '.join(unknown)} (only function)")
        if not scope and upstream["sub"].startswith(SERVICE_ACCOUNT_PREFIX):
            return oauth_error("invalid_scope", "a service account token is exchanged for function tokens only")
        audience = form.get("audience", [])
        bad = [a for a in audience if a != "*" and (a.count(":") != 1 or "" in a.split(":"))]
        if bad:
            return oauth_error("invalid_target", f"an audience is <namespace>:<function>, not {bad[0]!r}")
        if audience and not scope:
            return oauth_error("invalid_target", "audience needs scope=function")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": [issuer],
            "sub": upstream["sub"],
            "iat": now,
            "nbf": now,
            "exp": now + self.token_ttl,
            "jti": secrets.token_hex(16),
            "fed:iss": upstream["fed:iss"],
            "policy": [ADMIN_POLICY],
        }
        if scope:
            claims["function"] = {"permissions": ["*"], "audience": list(audience)}
        value = jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self.kid})
        return JSONResponse(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "scope": " ".join(scope),
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }
        )

    def with_service_account(self, spec: FunctionDeployment, state_dir: Path) -> FunctionDeployment:
        """``spec`` with ``token_mount_path`` naming a folder of ``state_dir`` that holds its fresh
        service account token (see the module docstring); ``spec`` unchanged when no subject is
        trusted, no issuer is known, or the deployment sets ``token_mount_path`` itself."""
        issuer = self.public_url or spec.env_vars.get("OPENFAAS_URL", "").rstrip("/")
        if self.admin is None or not issuer or "token_mount_path" in spec.env_vars:
            return spec
        folder = state_dir / TOKEN_DIR / spec.namespace / spec.service
        now = int(self._clock())
        claims = {
            "iss": issuer,
            "aud": [issuer],
            "sub": f"{SERVICE_ACCOUNT_PREFIX}{spec.namespace}:{spec.service}",
            "iat": now,
            "jti": secrets.token_hex(16),
            "fed:iss": f"{issuer}#service-account",
            "policy": [ADMIN_POLICY],
        }
        value = jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self.kid})
        write_private(folder / "openfaas-token", value.encode())
        return replace(spec, env_vars={**spec.env_vars, "token_mount_path": str(folder)})

    @staticmethod
    def forget_service_account(state_dir: Path, namespace: str, name: str) -> None:
        """Remove the service account token of a removed function."""
        shutil.rmtree(state_dir / TOKEN_DIR / namespace / name, ignore_errors=True)

    def _subject(self, subject: str, issuer: str) -> dict[str, str] | None:
        """The ``sub`` and ``fed:iss`` of a trusted subject token; ``None`` when it is not trusted."""
        if not self.trusts_anyone:
            return None
        if self.admin is not None and hmac.compare_digest(subject.encode(), self.admin.password.encode()):
            return {"sub": self.admin.user, "fed:iss": f"{issuer}#basic-auth"}
        if any(hmac.compare_digest(subject.encode(), trusted.encode()) for trusted in self.subject_tokens):
            return {"sub": f"subject:{hashlib.sha256(subject.encode()).hexdigest()[:16]}", "fed:iss": f"{issuer}#idp"}
        claims = self.verify(subject, issuer)
        if isinstance(claims, str) or "function" in claims:
            # only gateway API tokens, never function tokens, are subjects
            # (``docs/openfaas.md#gateway-tokens-and-function-tokens``)
            return None
        return {"sub": str(claims.get("sub", "")), "fed:iss": str(claims.get("fed:iss", issuer))}

    def api_token_valid(self, authorization: str, request: Request) -> bool:
        """Whether ``authorization`` is ``Bearer <a valid gateway API token>`` of this gateway
        (no ``function`` claim, not a service account token): what Enterprise accepts on
        ``/system/*`` (``docs/openfaas.md#gateway-tokens-and-function-tokens``)."""
        value = bearer_token(authorization)
        if not value:
            return False
        claims = self.verify(value, self.issuer(request))
        if isinstance(claims, str) or "function" in claims:
            return False
        return not str(claims.get("sub", "")).startswith(SERVICE_ACCOUNT_PREFIX)

    # --- verification ----------------------------------------------------------------------------

    def verify(self, value: str, issuer: str) -> dict[str, Any] | str:
        """The claims of a token as of-watchdog verifies it (``docs/openfaas.md#token-checks-in-of-watchdog``): ES256
        with the ``kid`` of the signing key, ``iss`` equal to ``issuer``, ``aud`` containing it, ``exp``/``nbf`` with
        1 s leeway when present. Otherwise the reason it fails, worded as golang-jwt does."""
        try:
            header = jwt.get_unverified_header(value)
        except jwt.DecodeError:
            return "token is malformed"
        if header.get("kid") != self.kid:
            return "token is unverifiable: unknown kid"
        try:
            claims: dict[str, Any] = jwt.decode(
                value,
                self._key.public_key(),
                algorithms=[_ALGORITHM],
                audience=issuer,
                issuer=issuer,
                leeway=LEEWAY,
                options={"require": [], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            return "token has invalid claims: token is expired"
        except jwt.ImmatureSignatureError:
            return "token has invalid claims: token is not valid yet"
        except jwt.InvalidIssuerError:
            return "token has invalid claims: token has invalid issuer"
        except jwt.InvalidAudienceError:
            return "token has invalid claims: token has invalid audience"
        except jwt.InvalidSignatureError:
            return "token signature is invalid"
        except jwt.InvalidTokenError:
            return "token is malformed"
        return claims

    def check_invoke(
        self, headers: Mapping[str, str], issuer: str, namespace: str, name: str, sub_path: str
    ) -> Response | dict[str, str]:
        """of-watchdog's ``jwt_auth`` check of one invocation of ``name.namespace``
        (``docs/openfaas.md#token-checks-in-of-watchdog``): the 401/403 answer, or the headers to add to the forwarded
        request (``X-Auth-Seconds``, the check's duration). ``/_/health`` and ``/_/ready`` pass unchecked. ``headers``
        lower-case."""
        started = time.perf_counter()
        if sub_path in JWT_EXEMPT_PATHS:
            return {}
        value = bearer_token(headers.get("authorization", ""))
        if not value:
            return jwt_missing()
        claims = self.verify(value, issuer)
        if isinstance(claims, str):
            return jwt_invalid(claims)
        if not function_claim_allows(claims.get("function"), namespace, name):
            return jwt_forbidden()
        return {"x-auth-seconds": f"{time.perf_counter() - started:f}"}
