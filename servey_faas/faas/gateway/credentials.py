"""The local gateway's basic-auth credentials (``docs/openfaas.md#basic-auth-on-ce``): the files ``basic-auth-user``
and ``basic-auth-password`` of a folder (surrounding whitespace trimmed), made with a random
password when they do not exist yet."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from servey_faas.faas.gateway.state import write_private

USER_FILE = "basic-auth-user"
PASSWORD_FILE = "basic-auth-password"  # noqa: S105 - a file name
DEFAULT_USER = "admin"


@dataclass(frozen=True)
class BasicCredentials:
    """A user name and password; the password is kept out of ``repr``."""

    user: str
    password: str = field(repr=False)


def load_or_create(folder: Path) -> tuple[BasicCredentials, bool]:
    """The credentials in ``folder`` and ``False``; or, when either file is missing, new ones
    (user ``admin``, a 32-character random password) written there (mode 0600) and ``True``.

    :raises ValueError: when a file exists but is empty after trimming.
    """
    user_file, password_file = folder / USER_FILE, folder / PASSWORD_FILE
    if user_file.is_file() and password_file.is_file():
        user = user_file.read_text(encoding="utf-8").strip()
        password = password_file.read_text(encoding="utf-8").strip()
        if not user or not password:
            raise ValueError(f"{user_file} and {password_file} must not be empty")
        return BasicCredentials(user, password), False
    created = BasicCredentials(DEFAULT_USER, secrets.token_urlsafe(24))
    write_private(user_file, created.user.encode())
    write_private(password_file, created.password.encode())
    return created, True
