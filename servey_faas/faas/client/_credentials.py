"""The gateway URL and the credentials ``faas-cli login`` saved, found as faas-cli finds them.

``faas-cli login`` writes ``config.yml`` in its config directory: ``$OPENFAAS_CONFIG`` when set,
else ``./.openfaas`` when ``CI`` is ``true`` or ``1``, else ``~/.openfaas``. The file holds one
entry per gateway (source: faas-cli ``config/config_file.go``)::

    auths:
    - gateway: http://127.0.0.1:8080
      auth: basic              # token = base64("user:password")
      token: YWRtaW46c2VjcmV0
    - gateway: https://gw.example.com
      auth: oauth2             # token = a bearer token for /system/*
      token: eyJhbGciOi...

Entries are matched on the normalised gateway URL (see :func:`normalize_gateway_url`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

import httpx

from servey_faas.errors import ConfigurationError
from servey_faas.faas.client._auth import BasicAuth, BearerTokenAuth
from servey_faas.faas.wire import DEFAULT_GATEWAY_URL


def normalize_gateway_url(url: str) -> str:
    """A gateway URL as faas-cli keeps it (``docs/openfaas.md#stack-file-fields``): trimmed, ``http://`` added
    when there is no scheme, lower-cased, without trailing ``/``."""
    url = url.strip()
    if "://" not in url:
        url = f"http://{url}"
    return url.lower().rstrip("/")


def gateway_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``OPENFAAS_URL`` if set, else ``http://127.0.0.1:8080`` (faas-cli's precedence without a
    flag or a stack file, ``docs/openfaas.md#stack-file-fields``), normalised."""
    env = os.environ if environ is None else environ
    return normalize_gateway_url(env.get("OPENFAAS_URL") or DEFAULT_GATEWAY_URL)


def faas_cli_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``faas-cli login`` saves credentials (see the module docstring)."""
    env = os.environ if environ is None else environ
    override = env.get("OPENFAAS_CONFIG")
    if override:
        directory = Path(override).expanduser()
    elif env.get("CI", "").lower() in ("true", "1"):
        directory = Path(".openfaas")
    else:
        directory = Path("~/.openfaas").expanduser()
    return directory / "config.yml"


def saved_auth(
    gateway_url: str, *, environ: Mapping[str, str] | None = None, path: Path | None = None
) -> httpx.Auth | None:
    """The credentials ``faas-cli login`` saved for ``gateway_url``: :class:`BasicAuth` for
    ``auth: basic``, a bearer token for ``auth: oauth2``; ``None`` when there is no file or no
    entry for this gateway.

    :raises ConfigurationError: when the file exists but cannot be parsed, or the matching
        entry is malformed (bad base64, no ``:``, unknown ``auth``).
    """
    import yaml

    path = path or faas_cli_config_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigurationError(f"cannot read faas-cli credentials {path}: {e}") from e
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigurationError(f"{path} is not valid YAML: {e}") from e
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, list):
        return None
    wanted = normalize_gateway_url(gateway_url)
    for entry in auths:
        if not isinstance(entry, dict) or normalize_gateway_url(str(entry.get("gateway", ""))) != wanted:
            continue
        kind, token = str(entry.get("auth", "")), str(entry.get("token", ""))
        if kind == "basic":
            try:
                user, sep, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError) as e:
                raise ConfigurationError(f"{path}: the basic token for {wanted} is not base64 of user:password") from e
            if not sep:
                raise ConfigurationError(f"{path}: the basic token for {wanted} has no ':' between user and password")
            return BasicAuth(user, password)
        if kind == "oauth2":
            return BearerTokenAuth(token)
        raise ConfigurationError(f"{path}: unknown auth type {kind!r} for {wanted} (expected basic or oauth2)")
    return None


def save_basic_auth(
    gateway_url: str, user: str, password: str, *, environ: Mapping[str, str] | None = None, path: Path | None = None
) -> Path:
    """Save basic-auth credentials for ``gateway_url`` as ``faas-cli login`` does, so that both
    servey_faas and faas-cli use them: the entry for the gateway (normalised URL) in
    :func:`faas_cli_config_path`'s ``config.yml`` is replaced, other entries are kept; the folder
    is made mode 0700 and the file written mode 0600. Returns the file's path.

    :raises ConfigurationError: when the file exists but is not a faas-cli config, or cannot be written.
    """
    import yaml

    path = path or faas_cli_config_path(environ)
    try:
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        existing = {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigurationError(f"cannot read faas-cli credentials {path}: {e}") from e
    if not isinstance(existing, dict) or not isinstance(existing.get("auths", []), list):
        raise ConfigurationError(f"{path} is not a faas-cli config file (no auths list)")
    wanted = normalize_gateway_url(gateway_url)
    auths = [
        entry
        for entry in existing.get("auths", [])
        if not (isinstance(entry, dict) and normalize_gateway_url(str(entry.get("gateway", ""))) == wanted)
    ]
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    auths.append({"gateway": wanted, "auth": "basic", "token": token})
    text = yaml.safe_dump({**existing, "auths": auths}, sort_keys=False)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(text)
        path.chmod(0o600)
    except OSError as e:
        raise ConfigurationError(f"cannot write faas-cli credentials {path}: {e.strerror or e}") from e
    return path
