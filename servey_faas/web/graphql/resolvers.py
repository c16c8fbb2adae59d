"""Resolvers of action fields, through the one invocation path REST uses.

A field's arguments arrive from strawberry, are turned into JSON params (:mod:`._types`), then
:meth:`~servey_faas.invocation.ActionInvoker.load_params` validates them against the action's JSON
Schema and unmarshals them with marshy, and :meth:`~servey_faas.invocation.ActionInvoker.call`
runs the function (sync functions in a worker thread). The Python result goes back to strawberry,
so the fields of a returned dataclass, nested ``@action`` methods included, are read from the real
object, and only when selected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import strawberry
from starlette.requests import Request
from strawberry.parent import Parent
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from servey_faas.access_control import AccessControl
from servey_faas.action import Action
from servey_faas.authentication import TokenVerifier, authorize
from servey_faas.authorization import Authorization
from servey_faas.errors import AccessError, ActionDefinitionError, ActionTimeoutError, BadGatewayError, ValidationError
from servey_faas.invocation import ActionInvoker
from servey_faas.web.graphql._types import (
    Converter,
    dataclass_hints,
    graphql_name,
    is_dataclass_type,
    sequence_item,
    unwrap_optional,
)
from servey_faas.web.graphql.errors import (
    BAD_GATEWAY,
    PublicError,
    access_error,
    internal_error,
    timeout_error,
    validation_error,
)

logger = logging.getLogger("servey_faas.web.graphql")

#: Keyword under which a nested action's stand-in function receives the object it runs on.
_SELF = "__servey_self__"
_ROOT = "__servey_root__"
_INFO = "__servey_info__"
_RESERVED = frozenset(("root", "self", "parent"))
_RENAMED = "__servey_argument__"


@dataclass(slots=True)
class GraphQLContext:
    """What one GraphQL request gives its resolvers (strawberry's ``info.context``).

    ``authorization_header`` is the request's ``Authorization`` header (None without one);
    ``authorizations`` holds what :class:`ActionPermission` decided, by action field.
    ``server_loop`` is the server's event loop when the operation runs on another one (a big
    request, worked on off the server's loop): actions are called on the server's loop all the same.
    """

    request: Request | None = None
    authorization_header: str | None = None
    authorizations: dict[str, Authorization | None] = field(default_factory=dict)
    server_loop: asyncio.AbstractEventLoop | None = None


class ActionPermission(BasePermission):
    """Runs :func:`servey_faas.authentication.authorize` for a protected action's field, the same
    decision REST makes, and keeps the caller's Authorization for the resolver.

    :raises PublicError: ``UNAUTHENTICATED`` or ``FORBIDDEN`` (see :mod:`.errors`).
    """

    def __init__(self, key: str, access_control: AccessControl, verifier: TokenVerifier | None) -> None:
        self.key = key
        self.access_control = access_control
        self.verifier = verifier

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context: GraphQLContext = info.context
        try:
            authorization = authorize(self.access_control, self.verifier, context.authorization_header)
        except AccessError as e:
            raise access_error(e) from None
        context.authorizations[self.key] = authorization
        return True


@dataclass(frozen=True)
class Argument:
    """One GraphQL argument of an action field: its parameter, what makes it JSON, and whether a
    null means "left out" (see :meth:`~._types.TypeMapper.null_is_default`)."""

    python_name: str
    convert: Converter
    null_is_default: bool = False


class ActionResolver:
    """Resolves one action field: arguments → JSON params → ``load_params`` → ``call`` → result.

    ``key`` names the field for :class:`ActionPermission` (``protected`` fields read the decision it
    made; other fields call :func:`~servey_faas.authentication.authorize` themselves, so a token
    that is sent is always checked). ``on_object`` is True for a nested action: the object the
    field is read on becomes the method's ``self``.
    """

    def __init__(
        self,
        invoker: ActionInvoker,
        arguments: Sequence[Argument],
        adapt_result: Converter,
        verifier: TokenVerifier | None,
        *,
        key: str,
        protected: bool,
        on_object: bool = False,
    ) -> None:
        self.invoker = invoker
        self.key = key
        self._converters: dict[str, Callable[[Any], Any]] = {
            a.python_name: a.convert for a in arguments if a.convert is not None
        }
        self._null_is_default = tuple(a.python_name for a in arguments if a.null_is_default)
        self._adapt = adapt_result
        self._verifier = verifier
        self._protected = protected
        self._on_object = on_object
        self._locate = _locator({p.name: p.type for p in invoker.params})

    def function(self, arguments: Sequence[tuple[str, Any, Any]], result: Any) -> Callable[..., Any]:
        """The async resolver strawberry calls. Its signature lists ``(root, info, *arguments)``
        with their strawberry annotations and published defaults (``arguments`` rows:
        ``(python_name, annotation, default or inspect.Parameter.empty)``), which is where
        strawberry reads the field's arguments from. One coroutine per call, no other layer."""
        invoker = self.invoker
        load_params, call = invoker.load_params, invoker.call
        converters = tuple(self._converters.items())
        null_is_default = self._null_is_default
        adapt, verifier, protected, on_object, locate = (
            self._adapt,
            self._verifier,
            self._protected,
            self._on_object,
            self._locate,
        )
        key = self.key

        # strawberry reserves some argument names (the parent object, Info): an action parameter
        # with one of them is renamed in the signature and keeps its name in the GraphQL schema.
        renamed = {name: f"{name}{_RENAMED}" for name, _, _ in arguments if name in _RESERVED}

        async def resolve(**kwargs: Any) -> Any:
            root = kwargs.pop(_ROOT)
            info: Info = kwargs.pop(_INFO)
            for name, python_name in renamed.items():
                if python_name in kwargs:
                    kwargs[name] = kwargs.pop(python_name)
            context: GraphQLContext = info.context
            if protected:
                authorization = context.authorizations.get(key)
            else:
                try:
                    authorization = authorize(None, verifier, context.authorization_header)
                except AccessError as e:
                    raise access_error(e) from None
            for name in null_is_default:
                if name in kwargs and kwargs[name] is None:
                    del kwargs[name]
            for name, convert in converters:
                value = kwargs.get(name)
                if value is not None:
                    kwargs[name] = convert(value)
            try:
                loaded = load_params(kwargs, authorization)
            except ValidationError as e:
                raise validation_error(e, locate) from None
            except AccessError as e:
                raise access_error(e) from None
            if on_object:
                loaded[_SELF] = root
            try:
                server_loop = context.server_loop
                if server_loop is None:
                    value = await call(loaded)
                else:
                    value = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(loaded), server_loop))
                return value if adapt is None else adapt(value)
            except BadGatewayError as e:
                logger.warning("action %r on GraphQL field %s: %s", invoker.name, _path(info), e)
                raise PublicError(str(e), BAD_GATEWAY) from None
            except ActionTimeoutError as e:
                logger.warning("%s on GraphQL field %s", e, _path(info))
                raise timeout_error(e) from None
            except Exception:
                # whatever the action raises (even a ValidationError of its own) is a server error,
                # as over REST: the client's arguments were valid
                logger.exception("action %r failed on GraphQL field %s", invoker.name, _path(info))
                raise internal_error() from None

        P = inspect.Parameter
        # strawberry finds the parent object and Info by annotation, whatever their names, so an
        # action parameter called "root" or "info" is an ordinary argument.
        parameters = [P(_ROOT, P.KEYWORD_ONLY, annotation=Parent), P(_INFO, P.KEYWORD_ONLY, annotation=Info)]
        parameters += [
            P(
                renamed[name],
                P.KEYWORD_ONLY,
                annotation=Annotated[a, strawberry.argument(name=to_camel_case(name))],
                default=d,
            )
            if name in renamed
            else P(name, P.KEYWORD_ONLY, annotation=a, default=d)
            for name, a, d in arguments
        ]
        resolve.__signature__ = inspect.Signature(parameters, return_annotation=result)  # type: ignore[attr-defined]
        resolve.__name__ = resolve.__qualname__ = invoker.name
        return resolve


def _named(annotation: Any, name: str) -> Any:
    """``annotation`` published under the GraphQL argument name of the parameter ``name``."""
    return Annotated[annotation, strawberry.argument(name=to_camel_case(name))]


def method_action(action: Action, owner: type) -> Action:
    """The action of a method of ``owner``, as a function without ``self`` that takes the object
    as a hidden keyword, so that one :class:`ActionInvoker` serves every object.

    :raises ActionDefinitionError: when the method has no ``self`` or cannot be typed.
    """
    fn = action.fn
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in (parameters[0].POSITIONAL_ONLY, parameters[0].POSITIONAL_OR_KEYWORD):
        raise ActionDefinitionError(f"action {action.name!r} on {owner.__qualname__} must be a method taking self")
    try:
        hints = typing.get_type_hints(fn)
    except Exception as e:
        raise ActionDefinitionError(f"action {action.name!r}: cannot resolve type hints: {e}") from e
    hints.pop(parameters[0].name, None)

    if action.is_async:

        async def bound(**kwargs: Any) -> Any:
            self = kwargs.pop(_SELF)
            return await fn(self, **kwargs)

    else:

        def bound(**kwargs: Any) -> Any:  # type: ignore[misc]
            self = kwargs.pop(_SELF)
            return fn(self, **kwargs)

    bound.__signature__ = signature.replace(parameters=parameters[1:])  # type: ignore[attr-defined]
    bound.__annotations__ = hints
    bound.__name__ = getattr(fn, "__name__", action.name)
    bound.__qualname__ = getattr(fn, "__qualname__", action.name)
    bound.__module__ = getattr(fn, "__module__", __name__)
    bound.__doc__ = fn.__doc__
    bound.__wrapped__ = fn  # type: ignore[attr-defined]  # error messages point at the method
    return dataclasses.replace(action, fn=bound)


def _locator(param_types: Mapping[str, Any]) -> Callable[[Sequence[str | int]], list[str | int]]:
    """Maps a params location (Python names) to the GraphQL names of the same place."""

    def locate(location: Sequence[str | int]) -> list[str | int]:
        out: list[str | int] = []
        current: Any = None
        for i, part in enumerate(location):
            if i == 0:
                current = param_types.get(str(part))
                out.append(graphql_name(part) if isinstance(part, str) and current is not None else part)
                continue
            current, _ = unwrap_optional(current)
            if isinstance(part, int):
                current = sequence_item(current)
                out.append(part)
            elif is_dataclass_type(current) and part in (hints := dataclass_hints(current)):
                current = hints[part]
                out.append(graphql_name(part))
            else:  # a key of a JSON object: kept as sent
                current = None
                out.append(part)
        return out

    return locate


def _path(info: Info) -> str:
    parts: list[str] = []
    node: Any = info.path
    while node is not None:
        parts.append(str(node.key))
        node = node.prev
    return ".".join(reversed(parts))
