"""REST routes: one Starlette route per (action, WebTrigger).

Each call is decided by :func:`servey_faas.authentication.authorize` before its params are read
(the same decision GraphQL makes); refusals are answered as RFC 6750 §3 says:

- ``401`` ``{"error": "unauthorized", ...}`` with ``WWW-Authenticate: Bearer realm="servey_faas"``
  when no token came and one is needed, plus ``error="invalid_token"`` and ``error_description``
  when the ``Authorization`` header was sent but cannot be trusted (also on open actions: a bad
  token is never ignored);
- ``403`` ``{"error": "forbidden", ...}`` with ``WWW-Authenticate: Bearer realm="servey_faas",
  error="insufficient_scope", error_description=..., scope="<scope>"`` for a valid token without
  the scope (no ``WWW-Authenticate`` for ``ALLOW_NONE``: no token can help).

Successful GET (and HEAD) responses of actions with a ``cache_control`` carry its headers
(``Cache-Control``, ``Expires``, ``ETag``; ``Vary: Authorization`` and always ``private`` when the
result depends on the caller's token, see :func:`servey_faas.cache_control.private`); an
``If-None-Match`` that matches the ETag (RFC 9110 §13.1.2) is answered ``304`` with those headers
and no body. Other methods and error responses never carry caching headers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servey_faas.access_control import ALLOW_ALL
from servey_faas.authentication import TokenSigner, TokenVerifier, authorize
from servey_faas.cache_control import (
    CacheControl,
    CombinedCacheControl,
    TtlCacheControl,
    if_none_match_matches,
    private,
)
from servey_faas.errors import (
    ActionDefinitionError,
    BadRequestError,
    FieldError,
    ForbiddenError,
    UnauthorizedError,
    ValidationError,
)
from servey_faas.invocation import ActionInvoker
from servey_faas.naming import default_path
from servey_faas.settings import Settings
from servey_faas.triggers import WebTrigger
from servey_faas.web.params import QueryReader, parse_json_body
from servey_faas.web.responses import JSONResponse, error_response, validation_error_response

logger = logging.getLogger("servey_faas.web")

#: The ``realm`` of every ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).
REALM = "servey_faas"
#: Where the opt-in dev token endpoint listens (``SERVEY_DEBUG_AUTHENTICATOR=1``).
DEBUG_TOKEN_PATH = "/debug/token"  # noqa: S105 - a path, not a password
#: Lifetime of a dev token when the request names none, in seconds.
DEBUG_TOKEN_TTL = 3600


@dataclass(frozen=True)
class WebRoute:
    """Where one action is served: its trigger, the resolved path and where each param comes from."""

    invoker: ActionInvoker
    trigger: WebTrigger
    path: str

    @property
    def method(self) -> str:
        return self.trigger.method

    def location_of(self, param: str) -> str:
        """``path``, ``query`` or ``body``: where ``param`` is read from on this route."""
        if param in self.trigger.path_params:
            return "path"
        return "body" if self.trigger.reads_body else "query"

    @property
    def depends_on_token(self) -> bool:
        """True when the result may differ by caller: a token is required, or the action receives
        the caller's :class:`~servey_faas.authorization.Authorization`."""
        return self.invoker.requires_token or self.invoker.authorization_param is not None

    @property
    def cache_control(self) -> CacheControl | None:
        """The caching this route applies to successful responses: the action's ``cache_control``
        on GET routes (made :func:`~servey_faas.cache_control.private` when the result depends on
        the caller's token), None on other methods."""
        cache_control = self.invoker.action.cache_control
        if cache_control is None or self.method != "GET":
            return None
        return private(cache_control) if self.depends_on_token else cache_control


def web_routes(invokers: dict[str, ActionInvoker] | Any) -> Iterator[WebRoute]:
    """Every (action, WebTrigger) pair as a :class:`WebRoute`, in action order.

    :raises ActionDefinitionError: when a path placeholder names no parameter of its action, or
        two triggers claim one method and path.
    """
    seen: dict[tuple[str, str], str] = {}
    for invoker in invokers.values():
        names = {p.name for p in invoker.params}
        for trigger in invoker.action.web_triggers:
            path = trigger.path or default_path(invoker.name)
            missing = [p for p in trigger.path_params if p not in names]
            if missing:
                raise ActionDefinitionError(
                    f"action {invoker.name!r}: path {path!r} names {', '.join(missing)}, which are not parameters"
                )
            key = (trigger.method, path)
            if key in seen:
                raise ActionDefinitionError(
                    f"{trigger.method} {path} is claimed by actions {seen[key]!r} and {invoker.name!r}"
                )
            seen[key] = invoker.name
            yield WebRoute(invoker, trigger, path)


class ActionEndpoint:
    """The ASGI endpoint of one :class:`WebRoute`: request → access decision → params → invoker →
    JSON response (→ caching headers or 304).

    ``verifier`` checks bearer tokens (None: no key is configured, every token is refused).
    """

    def __init__(self, route: WebRoute, verifier: TokenVerifier | None = None) -> None:
        self.route = route
        self._invoker = route.invoker
        self._reader = QueryReader(route.invoker.params)
        self._reads_body = route.trigger.reads_body
        self._access = route.invoker.action.access_control
        self._verifier = verifier
        self._scopes = (self._access or ALLOW_ALL).scopes
        self._cache = route.cache_control
        self._vary = route.depends_on_token
        if self._cache is not None and _asks_public(route.invoker.action.cache_control) and self._vary:
            logger.warning(
                "action %r asks for public caching, but its result depends on the bearer token: "
                "its GET responses are Cache-Control: private (RFC 9111 §3.5)",
                route.invoker.name,
            )

    async def handle(self, request: Request) -> Response:
        header = request.headers.get("authorization")
        try:
            authorization = authorize(self._access, self._verifier, header)
            if self._reads_body:
                params = parse_json_body(await request.body(), request.headers.get("content-type"))
                params.update(self._reader.read_path(request.path_params))
            else:
                params = self._reader.read(request.query_params, request.path_params)
            kwargs = self._invoker.load_params(params, authorization)
        except ValidationError as e:
            return validation_error_response([self._locate(err) for err in e.errors])
        except BadRequestError as e:
            return error_response(400, "bad_request", str(e))
        except UnauthorizedError as e:
            return unauthorized_response(str(e), token_sent=header is not None)
        except ForbiddenError as e:
            return forbidden_response(str(e), self._scopes)
        try:
            # Whatever the action raises (even a ValidationError of its own) is a server error:
            # the client's params were valid.
            result = await self._invoker.call(kwargs)
            response = JSONResponse(self._invoker.dump_result(result))  # rendering may fail too (NaN)
        except Exception:
            logger.exception("action %r failed on %s %s", self._invoker.name, request.method, request.url.path)
            return error_response(500, "internal_error", "internal server error")
        if self._cache is None:
            return response
        return self._cached(request, response, self._cache)

    def _cached(self, request: Request, response: Response, cache: CacheControl) -> Response:
        """``response`` with the caching headers, or a 304 with them when ``If-None-Match`` matches."""
        body = response.body
        headers = cache.headers(body if isinstance(body, bytes) else bytes(body))
        if self._vary:
            headers["Vary"] = "Authorization"
        etag = headers.get("ETag")
        if etag is not None and cache.uses_etag:
            conditions = request.headers.getlist("if-none-match")
            if conditions and if_none_match_matches(", ".join(conditions), etag):
                return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    def _locate(self, error: FieldError) -> FieldError:
        if not error.location:
            return error.prefixed("body" if self._reads_body else "query")
        return error.prefixed(self.route.location_of(str(error.location[0])))


def rest_routes(invokers: dict[str, ActionInvoker] | Any, verifier: TokenVerifier | None = None) -> list[Route]:
    """The Starlette routes of every web-triggered action: one route per path, so that a 405
    lists every method the path supports in ``Allow`` (RFC 9110 §15.5.6).

    ``verifier`` checks bearer tokens (``ServeyApp.verifier``); without one every token is refused
    with 401, so protected actions can never be called.
    """
    by_path: dict[str, dict[str, ActionEndpoint]] = {}
    for r in web_routes(invokers):
        by_path.setdefault(r.path, {})[r.method] = ActionEndpoint(r, verifier)
    routes = []
    for path, endpoints in by_path.items():
        if len(endpoints) == 1:
            [(method, endpoint)] = endpoints.items()
            name = f"{endpoint.route.invoker.name}:{method}"
            routes.append(Route(path, endpoint.handle, methods=[method], name=name))
        else:
            routes.append(Route(path, _MethodDispatch(endpoints).handle, methods=list(endpoints)))
    return routes


class _MethodDispatch:
    """Several actions on one path, told apart by the request method (HEAD is served as GET)."""

    def __init__(self, endpoints: dict[str, ActionEndpoint]) -> None:
        self._endpoints = endpoints

    async def handle(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self._endpoints[method].handle(request)


def _asks_public(cache_control: CacheControl | None) -> bool:
    if isinstance(cache_control, TtlCacheControl):
        return cache_control.public
    if isinstance(cache_control, CombinedCacheControl):
        return any(_asks_public(p) for p in cache_control.parts)
    return False


# --- RFC 6750 §3 refusals ------------------------------------------------------------------------------

#: Characters RFC 6750 §3 allows in ``error_description``: %x20-21 / %x23-5B / %x5D-7E.
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_MAX_DESCRIPTION = 200


def bearer_challenge(error: str | None = None, description: str | None = None, scopes: Sequence[str] = ()) -> str:
    """A ``WWW-Authenticate`` value (RFC 6750 §3): ``Bearer realm="servey_faas"``, then ``error``,
    ``error_description`` (characters RFC 6750 forbids replaced by ``'`` or ``?``, at most 200) and
    ``scope`` (space-separated) attributes when given."""
    parts = [f'Bearer realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        text = _NOT_IN_DESCRIPTION.sub(lambda m: "'" if m.group() == '"' else "?", description)
        parts.append(f'error_description="{text[:_MAX_DESCRIPTION]}"')
    if scopes:
        parts.append(f'scope="{" ".join(scopes)}"')
    return ", ".join(parts)


def unauthorized_response(message: str, *, token_sent: bool) -> Response:
    """HTTP 401 ``{"error": "unauthorized", "message": message}`` with a bearer challenge: no error
    code when the request carried no credentials (RFC 6750 §3.1), ``invalid_token`` when it did."""
    challenge = bearer_challenge("invalid_token", message) if token_sent else bearer_challenge()
    return error_response(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def forbidden_response(message: str, scopes: Sequence[str]) -> Response:
    """HTTP 403 ``{"error": "forbidden", "message": message}``; with ``scopes`` (the scope that would
    permit the call) a challenge ``error="insufficient_scope"`` naming them (RFC 6750 §3.1)."""
    headers = {"WWW-Authenticate": bearer_challenge("insufficient_scope", message, scopes)} if scopes else None
    return error_response(403, "forbidden", message, headers=headers)


# --- the opt-in dev token endpoint ---------------------------------------------------------------------


def debug_token_routes(settings: Settings) -> list[Route]:
    """``POST /debug/token`` when ``settings.debug_authenticator`` is on (``SERVEY_DEBUG_AUTHENTICATOR=1``),
    else nothing (the path answers 404).

    Development only: whoever reaches the server gets a token for any subject and scope, signed
    with the configured ``JWT_SECRET_KEY``. A warning is logged when the route is built.

    :raises ConfigurationError: when it is on and no HMAC secret is configured (a public key cannot sign).
    """
    if not settings.debug_authenticator:
        return []
    signer = settings.jwt.signer()
    logger.warning(
        "SERVEY_DEBUG_AUTHENTICATOR is on: POST %s signs bearer tokens for ANY subject and scopes. "
        "Never turn it on where anybody else can reach this server.",
        DEBUG_TOKEN_PATH,
    )
    return [Route(DEBUG_TOKEN_PATH, DebugTokenEndpoint(signer).handle, methods=["POST"], name="debug_token")]


class DebugTokenEndpoint:
    """``POST /debug/token`` with a JSON body ``{"subject_id": str | null, "scopes": [str], "ttl": int}``
    (every field optional: subject ``debug-user``, no scopes, ttl 3600 seconds) answers an RFC 6749
    §5.1 token response ``{"access_token": "<JWT>", "token_type": "Bearer", "expires_in": ttl,
    "scope": "a b"}``. Invalid fields are a 422 like an action's; a malformed body a 400."""

    _FIELDS = frozenset({"subject_id", "scopes", "ttl"})

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    async def handle(self, request: Request) -> Response:
        try:
            body = parse_json_body(await request.body(), request.headers.get("content-type"))
            subject_id, scopes, ttl = self._read(body)
            token = self._signer.issue(subject_id, scopes, ttl)
        except BadRequestError as e:
            return error_response(400, "bad_request", str(e))
        except ValidationError as e:
            return validation_error_response([err.prefixed("body") for err in e.errors])
        logger.info("issued a debug token for subject %r with scopes %r", subject_id, scopes)
        return JSONResponse(token, headers={"Cache-Control": "no-store"})  # RFC 6749 §5.1

    def _read(self, body: dict[str, Any]) -> tuple[str | None, list[str], int]:
        errors = [FieldError((k,), "unexpected field") for k in sorted(body) if k not in self._FIELDS]
        subject_id = body.get("subject_id", "debug-user")
        if subject_id is not None and (not isinstance(subject_id, str) or not subject_id):
            errors.append(FieldError(("subject_id",), "must be a non-empty string or null"))
        scopes = body.get("scopes", [])
        if not isinstance(scopes, list):
            errors.append(FieldError(("scopes",), "must be an array of scope strings"))
            scopes = []
        ttl = body.get("ttl", DEBUG_TOKEN_TTL)
        if errors:
            raise ValidationError(errors)
        return subject_id, scopes, ttl
