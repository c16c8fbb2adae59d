"""How the end users' JWT key reaches an app's OpenFaaS functions: as an OpenFaaS secret.

OpenFaaS gives a function its secrets as files, ``/var/openfaas/secrets/<name>``, never as
environment variables (https://docs.openfaas.com/reference/secrets/). Every function that
verifies bearer tokens — an action whose access control or ``Authorization`` parameter reads the
caller's token (:attr:`~servey_faas.invocation.ActionInvoker.reads_token`), and the ``api`` router
of an app that has one — lists the app's key secret in ``secrets`` and reads it through
``JWT_SECRET_KEY_FILE`` (an HMAC secret, ``kind="secret"``) or ``JWT_PUBLIC_KEY_FILE`` (a PEM public
key, ``kind="public"``). The stack file holds the secret's name and that path, never key material;
functions that verify no token do not get the key (least privilege: an HMAC secret can sign).

``--run=deploy`` writes the secret from the key configured where it runs (``JWT_SECRET_KEY[_FILE]``
or ``JWT_PUBLIC_KEY[_FILE]``), or requires that it exists on the gateway already. The settings that
are not key material (``JWT_ALGORITHMS``, ``JWT_ISSUER``, ``JWT_AUDIENCE``, ``JWT_LEEWAY``) are plain
configuration: they go to the functions through ``[tool.servey_faas.build] environment``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from servey_faas.errors import ConfigurationError
from servey_faas.faas.wire import SECRET_MOUNT_PATH

if TYPE_CHECKING:
    from servey_faas.faas.deploy.planner import SecretSource

#: ``secret``: an HMAC secret (HS256/384/512); ``public``: a PEM public key or certificate.
KeyKind: TypeAlias = Literal["secret", "public"]
KEY_KINDS: tuple[KeyKind, ...] = ("secret", "public")
#: The setting holding the key itself, by kind (it never goes into a stack file).
VALUE_VARIABLES: Mapping[KeyKind, str] = {"secret": "JWT_SECRET_KEY", "public": "JWT_PUBLIC_KEY"}
#: The setting naming the file that holds the key, by kind.
FILE_VARIABLES: Mapping[KeyKind, str] = {"secret": "JWT_SECRET_KEY_FILE", "public": "JWT_PUBLIC_KEY_FILE"}
#: The JWT settings that are not key material.
PLAIN_SETTINGS = ("JWT_ALGORITHMS", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_LEEWAY")


@dataclass(frozen=True)
class JwtKeySecret:
    """The OpenFaaS secret ``name`` holding the end users' JWT key of ``kind``."""

    name: str
    kind: KeyKind = "secret"

    @property
    def file_variable(self) -> str:
        """``JWT_SECRET_KEY_FILE`` or ``JWT_PUBLIC_KEY_FILE``."""
        return FILE_VARIABLES[self.kind]

    @property
    def path(self) -> str:
        """Where the function finds it: ``/var/openfaas/secrets/<name>``."""
        return posixpath.join(SECRET_MOUNT_PATH, self.name)

    def environment(self) -> dict[str, str]:
        """The environment of a function that verifies tokens: ``{file_variable: path}``."""
        return {self.file_variable: self.path}

    def create_command(self, namespace: str = "") -> str:
        """The faas-cli command that creates the secret from a file."""
        where = f" --namespace {namespace}" if namespace else ""
        key_file = "jwt-secret.key" if self.kind == "secret" else "jwt-public.pem"
        return f"faas-cli secret create {self.name} --from-file {key_file}{where}"


def default_secret_name(prefix: str, kind: KeyKind) -> str:
    """``<prefix>jwt-secret-key`` or ``<prefix>jwt-public-key``: behind the function prefix, so that
    two apps in one namespace keep their keys apart."""
    return f"{prefix}jwt-{kind}-key"


def check_kind(kind: str, where: str = "jwt_key") -> KeyKind:
    """``kind`` when it is ``secret`` or ``public``.

    :raises ConfigurationError: otherwise.
    """
    for known in KEY_KINDS:
        if kind == known:
            return known
    raise ConfigurationError(f"{where} must be 'secret' (an HMAC secret) or 'public' (a PEM public key), not {kind!r}")


def configured_kind(environ: Mapping[str, str]) -> KeyKind | None:
    """The kind of the key configured in ``environ`` (``JWT_PUBLIC_KEY[_FILE]``: public,
    ``JWT_SECRET_KEY[_FILE]``: secret), None when none is."""
    for kind in ("public", "secret"):
        if environ.get(VALUE_VARIABLES[kind]) or environ.get(FILE_VARIABLES[kind]):
            return kind
    return None


def unshipped_settings(environ: Mapping[str, str], function_environments: Iterable[Mapping[str, str]]) -> list[str]:
    """The plain JWT settings set in ``environ`` (where the app is packaged) that some function
    verifying tokens does not get (its ``environment``): the functions would not check them."""
    environments = list(function_environments)
    return [name for name in PLAIN_SETTINGS if environ.get(name) and any(env.get(name) is None for env in environments)]


def key_source(environ: Mapping[str, str], kind: KeyKind) -> SecretSource | None:
    """Where the deploy reads the value of the key secret from: the key configured in ``environ``
    (``JWT_SECRET_KEY`` / ``JWT_SECRET_KEY_FILE`` for ``secret``, the ``JWT_PUBLIC_KEY`` pair for
    ``public``), checked as the functions will check it; None when no key is configured.

    :raises ConfigurationError: when the configured key is of the other kind, or is not a usable
        key (too short, not PEM, both a variable and its ``_FILE`` set...).
    """
    from servey_faas.authentication import JwtSettings
    from servey_faas.faas.deploy.planner import SecretSource

    configured = configured_kind(environ)
    if configured is None:
        return None
    if configured != kind:
        raise ConfigurationError(
            f"the functions read a JWT {kind} key (jwt_key = {kind!r} in [tool.servey_faas.build]), but "
            f"{VALUE_VARIABLES[configured]}[_FILE] holds a {configured} key: set jwt_key = {configured!r}, "
            "or configure the other key"
        )
    JwtSettings.from_environ(environ).verifier()  # the key is sound before it becomes a secret
    path = environ.get(FILE_VARIABLES[kind])
    return SecretSource("file", path) if path else SecretSource("env", VALUE_VARIABLES[kind])
