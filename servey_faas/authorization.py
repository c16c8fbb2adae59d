"""Who is calling: the :class:`Authorization` read from a verified bearer token."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Authorization:
    """The verified identity behind a request.

    ``subject_id`` is the token's ``sub`` claim, ``scopes`` its space-separated ``scope`` claim,
    ``not_before``/``expire_at`` its ``nbf``/``exp`` claims as aware UTC datetimes (None when
    absent). An action parameter annotated with ``Authorization`` (or ``Authorization | None``)
    is injected from the request's bearer token and left out of every schema; it is never read
    from params, a payload or an unsigned header.
    """

    subject_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    not_before: datetime.datetime | None = None
    expire_at: datetime.datetime | None = None

    def has_scope(self, scope: str) -> bool:
        """True when ``scope`` was granted."""
        return scope in self.scopes

    def is_valid_at(self, now: datetime.datetime) -> bool:
        """True when ``now`` (aware) is within ``[not_before, expire_at)``."""
        if self.not_before is not None and now < self.not_before:
            return False
        return self.expire_at is None or now < self.expire_at
