"""HTTP caching of GET results: ``Cache-Control``/``Expires`` (RFC 9111) and strong ETags (RFC 9110 §8.8)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class CacheControl(Protocol):
    """Adds caching headers to a successful GET response of an action.

    ``headers(body)`` gets the rendered response body (bytes) and returns the headers to add.
    ``uses_etag`` tells transports to answer ``If-None-Match`` with 304.
    """

    @property
    def uses_etag(self) -> bool: ...

    def headers(self, body: bytes) -> dict[str, str]: ...


@dataclass(frozen=True)
class TtlCacheControl:
    """``Cache-Control: private, max-age=<ttl>`` (``public`` when asked) and ``Expires``.

    ``ttl`` is in seconds (int ≥ 0).

    :raises ValueError: for a negative or non-integer ``ttl``.
    """

    ttl: int
    public: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl < 0:
            raise ValueError(f"TtlCacheControl ttl must be whole seconds >= 0, not {self.ttl!r}")

    @property
    def uses_etag(self) -> bool:
        return False

    def headers(self, body: bytes) -> dict[str, str]:
        from email.utils import formatdate

        visibility = "public" if self.public else "private"
        return {
            "Cache-Control": f"{visibility}, max-age={self.ttl}",
            "Expires": formatdate(time.time() + self.ttl, usegmt=True),
        }


@dataclass(frozen=True)
class ETagCacheControl:
    """A strong ``ETag`` over the response body; ``If-None-Match`` with it answers 304 (no body)."""

    @property
    def uses_etag(self) -> bool:
        return True

    def headers(self, body: bytes) -> dict[str, str]:
        return {"ETag": etag_of(body)}


@dataclass(frozen=True)
class CombinedCacheControl:
    """Several cache controls at once; ``@action(cache_control=(TtlCacheControl(60), ETagCacheControl()))``
    makes one."""

    parts: tuple[CacheControl, ...]

    @property
    def uses_etag(self) -> bool:
        return any(p.uses_etag for p in self.parts)

    def headers(self, body: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in self.parts:
            out.update(part.headers(body))
        return out


def etag_of(body: bytes) -> str:
    """A strong entity tag for ``body``: the quoted first 32 hex digits of its SHA-256."""
    import hashlib

    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'
