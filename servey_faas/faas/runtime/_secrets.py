"""Reading OpenFaaS secrets from files, as the official SDKs do (``docs/openfaas.md#secrets-as-files``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from servey_faas.errors import ConfigurationError
from servey_faas.faas.wire import SECRET_MOUNT_PATH

#: Where providers mount a function's secrets, one file per secret (``docs/openfaas.md#secrets-as-files``).
DEFAULT_SECRET_MOUNT_PATH = SECRET_MOUNT_PATH


def secret_path(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The file of secret ``name``: ``${secret_mount_path:-/var/openfaas/secrets}/<name>``.

    :raises ConfigurationError: for a name that is empty or is not a single path segment.
    """
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ConfigurationError(f"secret name {name!r} must be one non-empty path segment")
    env = os.environ if environ is None else environ
    return os.path.join(env.get("secret_mount_path") or DEFAULT_SECRET_MOUNT_PATH, name)


def read_secret(name: str, *, environ: Mapping[str, str] | None = None) -> str:
    """The value of the secret ``name`` mounted into this function, surrounding whitespace trimmed.

    Secrets are files, never environment variables: ``/var/openfaas/secrets/<name>``, or under the
    directory named by the environment variable ``secret_mount_path`` (as go-sdk ``ReadSecret``,
    ``docs/openfaas.md#secrets-as-files``). ``environ`` defaults to ``os.environ``. The file is read on every call
    (providers may update it in place), decoded as UTF-8.

    :raises ConfigurationError: when the name is not one path segment, or the file is missing or
        unreadable (the function's deployment must list the secret in ``secrets``).
    """
    path = secret_path(name, environ)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigurationError(
            f"secret {name!r} is not mounted: no file {path} (list it in the function's secrets)"
        ) from None
    except OSError as e:
        raise ConfigurationError(f"cannot read secret {name!r} from {path}: {e.strerror or e}") from e
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise ConfigurationError(f"secret {name!r} in {path} is not UTF-8 text: {e}") from e
