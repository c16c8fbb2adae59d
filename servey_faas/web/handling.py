"""How a web route of an action answers, whatever server carries the request.

The dev server (Starlette, :mod:`servey_faas.web.rest`) and an action's OpenFaaS function (WSGI,
:mod:`servey_faas.faas.runtime`) both answer through a :class:`RouteHandler`, so that access
decisions, params, validation errors, results and caching headers are the same bytes on both.
Nothing here imports a web framework.

Refusals are answered as RFC 6750 §3 says:

- ``401`` ``{"error": "unauthorized", ...}`` with ``WWW-Authenticate: Bearer realm="servey_faas"``
  when no token came and one is needed, plus ``error="invalid_token"`` and ``error_description``
  when the ``Authorization`` header was sent but cannot be trusted (also on open actions: a bad
  token is never ignored);
- ``403`` ``{"error": "forbidden", ...}`` with ``WWW-Authenticate: Bearer realm="servey_faas",
  error="insufficient_scope", error_description=..., scope="<scope>"`` for a valid token without
  the scope (no ``WWW-Authenticate`` for ``ALLOW_NONE``: no token can help).

Successful GET (and HEAD) replies of actions with a ``cache_control`` carry its headers
(``Cache-Control``, ``Expires``, ``ETag``; ``Vary: Authorization`` and always ``private`` when the
result depends on the caller's token, see :func:`servey_faas.cache_control.private`); an
``If-None-Match`` that matches the ETag (RFC 9110 §13.1.2) is answered ``304`` with those headers
and no body. Other methods and errors never carry caching headers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servey_faas.access_control import ALLOW_ALL
from servey_faas.authentication import TokenVerifier, authorize
from servey_faas.cache_control import (
    CacheControl,
    CombinedCacheControl,
    TtlCacheControl,
    if_none_match_matches,
    private,
)
from servey_faas.errors import (
    ActionDefinitionError,
    ActionTimeoutError,
    BadGatewayError,
    BadRequestError,
    FieldError,
    ForbiddenError,
    UnauthorizedError,
    ValidationError,
)
from servey_faas.invocation import ActionInvoker
from servey_faas.naming import default_path
from servey_faas.settings import LimitSettings
from servey_faas.triggers import WebTrigger
from servey_faas.web.params import QueryReader, json_too_deep, parse_json_body, reads_json

logger = logging.getLogger("servey_faas.web")

#: The ``realm`` of every ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).
REALM = "servey_faas"
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class Reply:
    """One response, before a server sends it: status, body bytes, media type (None: no
    ``Content-Type``) and the headers beyond ``Content-Type`` and ``Content-Length``."""

    status: int
    body: bytes = b""
    media_type: str | None = JSON_MEDIA_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


#: One encoder for every reply: ``json.dumps`` with these options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def render_json(content: Any) -> bytes:
    """Compact UTF-8 JSON (RFC 8259: no NaN or Infinity).

    :raises ValueError: for NaN or infinite floats. :raises TypeError: for values JSON cannot hold.
    """
    return _ENCODE(content).encode("utf-8")


def error_reply(status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """``{"error": error, "message": message}`` with ``status``."""
    return Reply(status, render_json({"error": error, "message": message}), headers=headers or {})


#: 500 ``internal_error``: what a failing action answers, and any other error of the server (the
#: traceback goes to the log, never to the client).
INTERNAL_ERROR = error_reply(500, "internal_error", "internal server error")


def too_large_reply(limit: int) -> Reply:
    """HTTP 413 (RFC 9110 §15.5.14) for a request body over ``limit`` bytes::

    {"error": "payload_too_large", "message": "the request body is larger than the limit of 1048576 bytes"}
    """
    return error_reply(413, "payload_too_large", f"the request body is larger than the limit of {limit} bytes")


def validation_error_reply(errors: Sequence[FieldError]) -> Reply:
    """HTTP 422 listing every invalid field with its location and message::

    {"error": "validation_error", "message": "invalid params",
     "errors": [{"location": ["query", "name"], "message": "field required"}]}
    """
    body = {
        "error": "validation_error",
        "message": "invalid params",
        "errors": [{"location": list(e.location), "message": e.message} for e in errors],
    }
    return Reply(422, render_json(body))


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


def unauthorized_reply(message: str, *, token_sent: bool) -> Reply:
    """HTTP 401 ``{"error": "unauthorized", "message": message}`` with a bearer challenge: no error
    code when the request carried no credentials (RFC 6750 §3.1), ``invalid_token`` when it did."""
    challenge = bearer_challenge("invalid_token", message) if token_sent else bearer_challenge()
    return error_reply(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def forbidden_reply(message: str, scopes: Sequence[str]) -> Reply:
    """HTTP 403 ``{"error": "forbidden", "message": message}``; with ``scopes`` (the scope that would
    permit the call) a challenge ``error="insufficient_scope"`` naming them (RFC 6750 §3.1)."""
    headers = {"WWW-Authenticate": bearer_challenge("insufficient_scope", message, scopes)} if scopes else None
    return error_reply(403, "forbidden", message, headers=headers)


# --- routes --------------------------------------------------------------------------------------------


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


def web_routes(invokers: Mapping[str, ActionInvoker]) -> Iterator[WebRoute]:
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


class RouteHandler:
    """One :class:`WebRoute`'s answers: request parts → access decision → params → kwargs
    (:meth:`load`); the action's result → JSON reply with caching headers or 304 (:meth:`reply`);
    an action that raised → 500, or 504 past its timeout (:meth:`failure`). Servers call the
    action in between with ``invoker.call`` (async) or the function itself.

    ``verifier`` checks bearer tokens (None: no key is configured, every token is refused).
    ``limits`` bound the JSON nesting depth of params (the server reading the body enforces
    ``max_body_bytes``, answering :func:`too_large_reply`).
    """

    def __init__(
        self, route: WebRoute, verifier: TokenVerifier | None = None, limits: LimitSettings | None = None
    ) -> None:
        self.route = route
        self.invoker = route.invoker
        #: True when the params come from a JSON body (POST, PUT, PATCH), else from the query string.
        self.reads_body = route.trigger.reads_body
        self.limits = limits or LimitSettings()
        self._reader = QueryReader(route.invoker.params)
        #: Params whose query or path values are JSON text, measured before they are parsed.
        self._json_params = frozenset(p.name for p in route.invoker.params if reads_json(p.schema))
        self._access = route.invoker.action.access_control
        self._verifier = verifier
        self._scopes = (self._access or ALLOW_ALL).scopes
        self._cache = route.cache_control
        self._vary = route.depends_on_token
        #: True when :meth:`reply` reads ``If-None-Match`` (the route answers 304s).
        self.uses_etag = self._cache is not None and self._cache.uses_etag
        if self._cache is not None and _asks_public(route.invoker.action.cache_control) and self._vary:
            logger.warning(
                "action %r asks for public caching, but its result depends on the bearer token: "
                "its GET responses are Cache-Control: private (RFC 9111 §3.5)",
                route.invoker.name,
            )

    def load(
        self,
        authorization: str | None,
        query: Iterable[tuple[str, str]],
        path_params: Mapping[str, str],
        body: bytes,
        content_type: str | None,
    ) -> dict[str, Any] | Reply:
        """The keyword arguments of the action's call, or the reply refusing the request.

        ``authorization`` is the raw ``Authorization`` header (None when absent); ``query`` the
        decoded query string pairs in order (``keep_blank_values``); ``body`` is read only on routes
        that :attr:`reads_body`. Refusals: 400 ``bad_request`` (malformed JSON, JSON nested deeper
        than ``limits.max_json_depth``, wrong content type), 401/403 (RFC 6750 §3), 422
        ``validation_error`` listing every invalid field with its location (``query``, ``path`` or
        ``body``).
        """
        try:
            verified = authorize(self._access, self._verifier, authorization)
            if self.reads_body:
                params = parse_json_body(body, content_type, self.limits.max_json_depth)
                params.update(self._reader.read_path(path_params))
            else:
                if self._json_params:
                    query = self._check_json_values(list(query), path_params)
                params = self._reader.read(query, path_params)
            return self.invoker.load_params(params, verified)
        except ValidationError as e:
            return validation_error_reply([self._locate(err) for err in e.errors])
        except BadRequestError as e:
            return error_reply(400, "bad_request", str(e))
        except UnauthorizedError as e:
            return unauthorized_reply(str(e), token_sent=authorization is not None)
        except ForbiddenError as e:
            return forbidden_reply(str(e), self._scopes)

    def reply(self, result: Any, if_none_match: str | None = None) -> Reply:
        """200 with the JSON form of the action's ``result`` and, on cached GET routes, the caching
        headers; 304 with those headers and no body when ``if_none_match`` (the request's
        ``If-None-Match`` values joined with ``", "``) matches the ETag (RFC 9110 §13.1.2).

        :raises Exception: when the result cannot be dumped or rendered (e.g. NaN): a server error.
        """
        body = render_json(self.invoker.dump_result(result))
        if self._cache is None:
            return Reply(200, body)
        headers = self._cache.headers(body)
        if self._vary:
            headers["Vary"] = "Authorization"
        etag = headers.get("ETag")
        if etag is not None and self.uses_etag and if_none_match and if_none_match_matches(if_none_match, etag):
            return Reply(304, media_type=None, headers=headers)
        return Reply(200, body, headers=headers)

    def failure(self, method: str, path: str, error: BaseException | None = None) -> Reply:
        """500 ``internal_error`` for an action that raised ``error`` (call from its ``except``
        block: the traceback is logged, never sent). Whatever the action raises, even a
        ValidationError of its own, is a server error: the client's params were valid. A
        :class:`~servey_faas.errors.BadGatewayError` (the API router could not reach the action's
        function) is 502 ``bad_gateway`` with its message, which names the gateway; an
        :class:`~servey_faas.errors.ActionTimeoutError` (the action ran past its ``timeout``) is 504
        ``gateway_timeout``, the status the OpenFaaS watchdog answers past ``exec_timeout``."""
        if isinstance(error, BadGatewayError):
            logger.warning("action %r on %s %s: %s", self.invoker.name, method, path, error)
            return error_reply(502, "bad_gateway", str(error))
        if isinstance(error, ActionTimeoutError):
            logger.warning("%s on %s %s", error, method, path)
            return error_reply(504, "gateway_timeout", str(error))
        logger.exception("action %r failed on %s %s", self.invoker.name, method, path)
        return INTERNAL_ERROR

    def _check_json_values(self, query: list[tuple[str, str]], path_params: Mapping[str, str]) -> list[tuple[str, str]]:
        # A value is one level inside the params object, which counts towards the limit as a body does.
        max_depth = self.limits.max_json_depth
        for key, value in (*query, *path_params.items()):
            if key in self._json_params and json_too_deep(value, max_depth - 1):
                raise BadRequestError(
                    f"the JSON of {key!r} is nested deeper than the limit of {max_depth} levels "
                    "(counting the params object)"
                )
        return query

    def _locate(self, error: FieldError) -> FieldError:
        if not error.location:
            return error.prefixed("body" if self.reads_body else "query")
        return error.prefixed(self.route.location_of(str(error.location[0])))


def _asks_public(cache_control: CacheControl | None) -> bool:
    if isinstance(cache_control, TtlCacheControl):
        return cache_control.public
    if isinstance(cache_control, CombinedCacheControl):
        return any(_asks_public(p) for p in cache_control.parts)
    return False
