"""HTTP caching of GET results: ``Cache-Control``/``Expires`` (RFC 9111) and strong ETags (RFC 9110 §8.8).

Transports add the headers of an action's :class:`CacheControl` to successful GET (and HEAD)
responses only, never to other methods or to errors, and answer a matching ``If-None-Match``
(:func:`if_none_match_matches`) with ``304 Not Modified``, no body, and the same caching headers.

Responses that depend on who asks are always ``private`` (:func:`private`): RFC 9111 §3.5 lets a
shared cache store a response to an authorized request when it is marked ``public``, and replay it
to callers that never showed a token.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from servey_faas.errors import ConfigurationError


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
    """``Cache-Control: private, max-age=<ttl>`` (``public`` when asked) and ``Expires`` (RFC 9111
    §5.2.2.1, §5.3), the current time plus ``ttl`` as an IMF-fixdate.

    ``ttl`` is in seconds (int ≥ 0). ``public=True`` lets shared caches (proxies, CDNs) store the
    result too; it is ignored for actions whose result depends on the caller's token (see
    :func:`private`).

    :raises ConfigurationError: for a negative or non-integer ``ttl``.
    """

    ttl: int
    public: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl < 0:
            raise ConfigurationError(f"TtlCacheControl ttl must be whole seconds >= 0, not {self.ttl!r}")

    @property
    def uses_etag(self) -> bool:
        return False

    def headers(self, body: bytes) -> dict[str, str]:
        visibility = "public" if self.public else "private"
        return {
            "Cache-Control": f"{visibility}, max-age={self.ttl}",
            "Expires": _http_date(time.time() + self.ttl),
        }


@dataclass(frozen=True)
class ETagCacheControl:
    """A strong ``ETag`` over the response body (:func:`etag_of`); ``If-None-Match`` with it answers
    304 (no body). The action still runs: the tag is the hash of what it returned."""

    @property
    def uses_etag(self) -> bool:
        return True

    def headers(self, body: bytes) -> dict[str, str]:
        return {"ETag": etag_of(body)}


@dataclass(frozen=True)
class CombinedCacheControl:
    """Several cache controls at once; ``@action(cache_control=(TtlCacheControl(60), ETagCacheControl()))``
    makes one. Later parts win when two set the same header."""

    parts: tuple[CacheControl, ...]

    @property
    def uses_etag(self) -> bool:
        return any(p.uses_etag for p in self.parts)

    def headers(self, body: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in self.parts:
            out.update(part.headers(body))
        return out


@dataclass(frozen=True)
class _Private:
    """``inner``'s headers with ``Cache-Control`` made private (see :func:`private`)."""

    inner: CacheControl

    @property
    def uses_etag(self) -> bool:
        return self.inner.uses_etag

    def headers(self, body: bytes) -> dict[str, str]:
        headers = self.inner.headers(body)
        value = headers.get("Cache-Control")
        if value is not None:
            headers["Cache-Control"] = _privatize(value)
        return headers


_SHARED_ONLY = re.compile(r"^(public|s-maxage(=.*)?|proxy-revalidate)$", re.IGNORECASE)


def _privatize(value: str) -> str:
    directives = [d.strip() for d in value.split(",") if d.strip()]
    kept = [d for d in directives if not _SHARED_ONLY.match(d)]
    if not any(d.lower() in ("private", "no-store") or d.lower().startswith("private=") for d in kept):
        kept.insert(0, "private")
    return ", ".join(kept)


def private(cache_control: CacheControl) -> CacheControl:
    """``cache_control`` with its ``Cache-Control`` always ``private``: ``public``, ``s-maxage`` and
    ``proxy-revalidate`` are dropped (they only speak to shared caches) and ``private`` is added.

    Transports apply it to actions whose result depends on the caller's bearer token (an access
    control that requires one, or an ``Authorization`` parameter): RFC 9111 §3.5 would otherwise let
    a shared cache store the response to an authorized request and serve it to anybody.
    """
    if isinstance(cache_control, TtlCacheControl):
        return TtlCacheControl(cache_control.ttl, public=False)
    if isinstance(cache_control, ETagCacheControl):
        return cache_control
    if isinstance(cache_control, CombinedCacheControl):
        return CombinedCacheControl(tuple(private(p) for p in cache_control.parts))
    return cache_control if isinstance(cache_control, _Private) else _Private(cache_control)


def etag_of(body: bytes) -> str:
    """A strong entity tag for ``body`` (RFC 9110 §8.8.3): the quoted first 32 hex digits (128 bits)
    of its SHA-256, e.g. ``"3f0a…"``."""
    import hashlib  # here, not at import: `import servey_faas` stays light (bench/importtime.py)

    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


#: One entity-tag of a list (RFC 9110 §8.8.3): optional ``W/``, then a quoted opaque-tag whose
#: characters are %x21 / %x23-7E / obs-text (so a comma may sit inside the quotes).
_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def if_none_match_matches(if_none_match: str, etag: str) -> bool:
    """True when an ``If-None-Match`` field value matches the current ``etag`` (RFC 9110 §13.1.2):
    the value is ``*``, or a comma-separated list holding a tag equal to ``etag`` under the weak
    comparison (``W/"x"`` matches ``"x"``). A GET or HEAD then answers 304.

    Several ``If-None-Match`` header lines are one list: join them with ``,`` first. Empty list
    elements are allowed (RFC 9110 §5.6.1); a value that is not a list of entity-tags matches
    nothing, so the request is answered as if it were unconditional.
    """
    value = if_none_match.strip()
    if value == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    pos = 0
    found = False
    while pos < len(value):
        if value[pos] in " \t,":
            pos += 1
            continue
        match = _ENTITY_TAG.match(value, pos)
        if match is None:
            return False
        found = found or match.group(1) == opaque
        pos = match.end()
    return found


def _http_date(timestamp: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for ``timestamp`` (seconds since the epoch)."""
    from email.utils import formatdate  # here, not at import: `import servey_faas` stays light

    return formatdate(timestamp, usegmt=True)
