"""Gateway credentials as ``httpx.Auth`` objects: basic auth, a fixed bearer token, and
:class:`TokenAuth` (an RFC 8693 token exchange at the gateway's ``/oauth/token``).

They apply to the gateway API (``/system/*``) only; function invocations carry a scoped function
token or nothing (``docs/openfaas.md#gateway-tokens-and-function-tokens``), which the client decides per call.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, Generator

import httpx

from servey_faas.faas.client._tokens import (
    CachedTokenSource,
    Clock,
    Token,
    TokenSource,
    exchange_form,
    post_token_form,
)


class BasicAuth(httpx.Auth):
    """HTTP basic auth (RFC 7617) for a CE gateway started with ``basic_auth=true``
    (``docs/openfaas.md#basic-auth-on-ce``). The password is kept out of ``repr``."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BasicAuth) and other._header == self._header

    def __hash__(self) -> int:
        return hash(self._header)


class BearerTokenAuth(httpx.Auth):
    """A fixed ``Authorization: Bearer <token>`` (e.g. a token saved by ``faas-cli login`` with
    ``auth: oauth2``). The token is kept out of ``repr``."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerTokenAuth(token=<redacted>)"


class TokenAuth(CachedTokenSource, httpx.Auth):
    """Gateway API auth by token exchange (OpenFaaS IAM, Enterprise; ``docs/openfaas.md#token-exchange``,
    ``docs/openfaas.md#gateway-tokens-and-function-tokens``).

    The upstream token from ``token_source`` (an IdP id_token, a Kubernetes service account
    token, an OpenFaaS API token) is exchanged at ``token_url`` (``{gateway}/oauth/token``)
    without scope or audience for a gateway API token, which is cached and refreshed
    :data:`~servey_faas.faas.client._tokens.EXPIRY_MARGIN` s (10 s) before it expires. However many
    threads or asyncio tasks ask at once, one exchange is made. A 401 drops the token, and the
    request is retried once with a fresh one.

    ``TokenAuth`` is also a :class:`TokenSource` (``token()``, ``token_async()``): the client
    uses it as the subject of scoped function token exchanges. ``timeout`` is in seconds;
    ``transport`` serves the exchange in-process (tests); ``clock`` is monotonic seconds.

    :raises OAuthError: from a request, when the exchange answers 400.
    """

    def __init__(
        self,
        token_url: str,
        token_source: TokenSource,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.token_url = token_url
        self.token_source = token_source
        self._timeout = timeout
        self._transport = transport

    def _fetch(self) -> Token:
        form = exchange_form(self.token_source.token())
        return post_token_form(
            self.token_url, form, clock=self._clock, timeout=self._timeout, transport=self._transport
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate(token)
            request.headers["Authorization"] = f"Bearer {self.token()}"
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token_async()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate(token)
            request.headers["Authorization"] = f"Bearer {await self.token_async()}"
            yield request

    def __repr__(self) -> str:
        return f"TokenAuth(token_url={self.token_url!r}, token_source={self.token_source!r})"
