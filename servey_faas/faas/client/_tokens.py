"""OAuth tokens: the token value type, caches, token sources and the RFC 8693 exchange.

Semantics follow the official SDKs as ``docs/openfaas.md#iam-and-function-tokens``,
``docs/openfaas.md#python-sdk-vocabulary`` describe them: a token counts as expired 10 s before its real expiry; a
missing or 0 ``expires_in`` means it never expires; a 400 from the token endpoint is an :class:`OAuthError`
(``unknown_error`` when its body is not JSON); a token source is anything with ``token() -> str`` and must be
thread-safe.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

from servey_faas.errors import ConfigurationError
from servey_faas.faas.client._errors import IamNotAvailableError, OAuthError, status_error, transport_error

#: A token counts as expired this many seconds before its real expiry (``docs/openfaas.md#token-exchange``).
EXPIRY_MARGIN = 10.0

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105

#: Default directory of the projected service account token (``docs/openfaas.md#upstream-token-sources``).
DEFAULT_TOKEN_MOUNT_PATH = "/var/secrets/tokens"  # noqa: S105

Clock = Callable[[], float]


@dataclass(frozen=True)
class Token:
    """An access token: ``value`` (kept out of ``repr``), ``expires_at`` in the owner's clock
    seconds (``None``: never expires) and the granted ``scope``."""

    value: str = field(repr=False)
    expires_at: float | None = None
    scope: tuple[str, ...] = ()

    def is_expired(self, now: float) -> bool:
        """True from :data:`EXPIRY_MARGIN` seconds before ``expires_at`` on (``now`` in the same
        clock)."""
        return self.expires_at is not None and now >= self.expires_at - EXPIRY_MARGIN


@runtime_checkable
class TokenSource(Protocol):
    """Anything that returns a bearer token: ``token() -> str``. Must be thread-safe
    (``docs/openfaas.md#upstream-token-sources``)."""

    def token(self) -> str: ...


class TokenCache(Protocol):
    """Where scoped function tokens are kept, keyed ``"<name>.<namespace>"``
    (``docs/openfaas.md#gateway-tokens-and-function-tokens``)."""

    def get(self, key: str) -> Token | None: ...

    def set(self, key: str, token: Token) -> None: ...


class MemoryTokenCache:
    """A thread-safe in-memory :class:`TokenCache`. ``get`` evicts and hides expired tokens;
    ``clear_expired`` drops them all. ``clock`` must be the one the tokens were stamped with
    (``time.monotonic`` by default, as the client uses)."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Token | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.is_expired(self._clock()):
                del self._tokens[key]
                return None
            return token

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str, value: str | None = None) -> None:
        """Forget ``key`` (only if it still holds ``value``, when given)."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and (value is None or token.value == value):
                del self._tokens[key]

    def clear_expired(self) -> None:
        now = self._clock()
        with self._lock:
            for key in [k for k, t in self._tokens.items() if t.is_expired(now)]:
                del self._tokens[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


def exchange_form(
    subject_token: str, *, audience: Sequence[str] = (), scope: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The RFC 8693 token-exchange form of ``docs/openfaas.md#token-exchange`` (``audience`` repeated, ``scope``
    space-joined; both left out when empty)."""
    form = [
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("subject_token_type", TOKEN_TYPE_ID_TOKEN),
        ("subject_token", subject_token),
    ]
    if scope:
        form.append(("scope", " ".join(scope)))
    form.extend(("audience", a) for a in audience)
    return form


def token_request(url: str, form: Sequence[tuple[str, str]]) -> httpx.Request:
    """A form-encoded (``application/x-www-form-urlencoded``) POST to a token endpoint; repeated
    keys (``audience``) are kept."""
    data: dict[str, list[str]] = {}
    for key, value in form:
        data.setdefault(key, []).append(value)
    return httpx.Request("POST", url, data=data, headers={"Accept": "application/json"})


def parse_token_response(response: httpx.Response, now: float) -> Token:
    """The :class:`Token` of a read token-endpoint response; ``now`` is the clock at receipt.

    :raises OAuthError: for a 400 (RFC 6749 §5.2; ``unknown_error`` when not JSON, as python-sdk).
    :raises IamNotAvailableError: for a 404: the gateway has no OpenFaaS IAM (CE).
    :raises GatewayStatusError: for any other non-2xx status.
    """
    if response.status_code == 404:
        request = response.request
        raise IamNotAvailableError(
            404, response.text, method=request.method, url=str(request.url), headers=response.headers
        )
    if response.status_code == 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            raise OAuthError(body["error"], str(body.get("error_description") or ""))
        raise OAuthError("unknown_error", response.text)
    if not response.is_success:
        raise status_error(response)
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise OAuthError("invalid_response", "the token endpoint answered without an access_token", status_code=200)
    expires_in = data.get("expires_in")
    seconds = float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else 0.0
    scope = data.get("scope")
    return Token(
        data["access_token"],
        expires_at=now + seconds if seconds > 0 else None,
        scope=tuple(scope.split()) if isinstance(scope, str) else (),
    )


class _LoopLocks:
    """One ``asyncio.Lock`` per running event loop (a lock binds to the loop that first waits on
    it), created under a thread lock, forgotten with the loop."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock


class CachedTokenSource:
    """A token source that fetches a token, keeps it until :data:`EXPIRY_MARGIN` s before expiry,
    and fetches exactly once however many threads or asyncio tasks ask at the same time.

    Subclasses implement :meth:`_fetch` (blocking; called under the thread lock). The async side
    waits on a per-loop ``asyncio.Lock`` and then runs the blocking fetch in a worker thread, so
    the event loop never blocks and threads and tasks share one fetch.
    """

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()
        self._loop_locks = _LoopLocks()

    def _fetch(self) -> Token:
        raise NotImplementedError

    def _valid(self) -> Token | None:
        token = self._token
        return token if token is not None and not token.is_expired(self._clock()) else None

    def current(self) -> Token:
        """The cached token, fetched first when missing or about to expire (thread-safe)."""
        token = self._valid()
        if token is not None:
            return token
        with self._lock:
            token = self._valid()
            if token is None:
                token = self._token = self._fetch()
            return token

    def token(self) -> str:
        """The token value (the :class:`TokenSource` protocol)."""
        return self.current().value

    async def token_async(self) -> str:
        """Like :meth:`token`, for asyncio code: never blocks the event loop."""
        token = self._valid()
        if token is not None:
            return token.value
        async with self._loop_locks.get():
            token = self._valid()
            if token is None:
                from anyio import to_thread

                token = await to_thread.run_sync(self.current)
            return token.value

    def invalidate(self, value: str | None = None) -> None:
        """Drop the cached token (only if it is still ``value``, when given), e.g. after a 401."""
        with self._lock:
            if self._token is not None and (value is None or self._token.value == value):
                self._token = None


def post_token_form(
    url: str,
    form: Sequence[tuple[str, str]],
    *,
    clock: Clock,
    timeout: float | httpx.Timeout,
    transport: httpx.BaseTransport | None,
) -> Token:
    """POST ``form`` to the token endpoint ``url`` with a short-lived client; parse the answer.

    :raises OAuthError: (400), :class:`GatewayStatusError` (other non-2xx),
        :class:`GatewayConnectionError` (no answer).
    """
    with httpx.Client(transport=transport, timeout=timeout) as client:
        try:
            response = client.send(token_request(url, form))
        except httpx.TransportError as e:
            raise transport_error(e) from e
        return parse_token_response(response, clock())


class ServiceAccountTokenSource:
    """The Kubernetes projected service account token at ``${token_mount_path}/openfaas-token``
    (``token_mount_path`` defaults to ``/var/secrets/tokens``), re-read on every call because
    Kubernetes rotates it in place (``docs/openfaas.md#upstream-token-sources``). ``path`` overrides the file.

    :raises ConfigurationError: at construction when ``token_mount_path`` is set but empty; from
        :meth:`token` when the file cannot be read or is empty.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None) -> None:
        if path is None:
            env = os.environ if environ is None else environ
            mount = env.get("token_mount_path", DEFAULT_TOKEN_MOUNT_PATH)
            if not mount:
                raise ConfigurationError("token_mount_path is set but empty")
            path = Path(mount) / "openfaas-token"
        self.path = Path(path)

    def token(self) -> str:
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigurationError(f"cannot read the service account token {self.path}: {e}") from e
        if not value:
            raise ConfigurationError(f"the service account token {self.path} is empty")
        return value

    async def token_async(self) -> str:
        from anyio import to_thread

        return await to_thread.run_sync(self.token)

    def __repr__(self) -> str:
        return f"ServiceAccountTokenSource(path={str(self.path)!r})"


class ClientCredentialsTokenSource(CachedTokenSource):
    """An OAuth 2.0 client-credentials token (RFC 6749 §4.4) from an identity provider, cached
    and refreshed :data:`EXPIRY_MARGIN` s before ``expires_in`` runs out (``docs/openfaas.md#upstream-token-sources``).

    The form carries ``client_id``, ``client_secret``, ``grant_type``, and ``scope`` and
    ``audience`` when non-empty. ``timeout`` is in seconds; ``transport`` lets tests answer
    in-process. ``token()`` raises :class:`OAuthError` for a 400.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        scope: str = "",
        grant_type: str = "client_credentials",
        audience: str = "",
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_url = token_url
        self.scope = scope
        self.grant_type = grant_type
        self.audience = audience
        self._timeout = timeout
        self._transport = transport

    def _fetch(self) -> Token:
        form = [("client_id", self.client_id), ("client_secret", self._client_secret), ("grant_type", self.grant_type)]
        if self.scope:
            form.append(("scope", self.scope))
        if self.audience:
            form.append(("audience", self.audience))
        return post_token_form(
            self.token_url, form, clock=self._clock, timeout=self._timeout, transport=self._transport
        )

    def __repr__(self) -> str:
        return f"ClientCredentialsTokenSource(client_id={self.client_id!r}, token_url={self.token_url!r})"


async def source_token_async(source: TokenSource) -> str:
    """``source``'s token from asyncio code: ``token_async()`` when it has one, else ``token()``
    in a worker thread."""
    method = getattr(source, "token_async", None)
    if method is not None:
        value = await method()
        return str(value)
    from anyio import to_thread

    return await to_thread.run_sync(source.token)
