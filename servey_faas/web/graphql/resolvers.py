"""Resolvers of action fields, through the one invocation path REST uses.

graphql-core calls them (see :mod:`.binding`) with a field's arguments as it coerced them; they are
turned into JSON params (:mod:`._types`), then
:meth:`~servey_faas.invocation.ActionInvoker.load_params` validates them against the action's JSON
Schema and unmarshals them with marshy, and :meth:`~servey_faas.invocation.ActionInvoker.call`
runs the function (sync functions in a worker thread). The Python result goes back to graphql-core,
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
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from starlette.requests import Request
from strawberry.utils.str_converters import to_camel_case

from servey_faas.access_control import AccessControl
from servey_faas.action import Action
from servey_faas.authentication import TokenVerifier, authorize
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
_RESERVED = frozenset(("root", "self", "parent"))
_RENAMED = "__servey_argument__"


@dataclass(slots=True)
class GraphQLContext:
    """What one GraphQL request gives its resolvers (graphql-core's ``info.context``).

    ``authorization_header`` is the request's ``Authorization`` header (None without one).
    ``server_loop`` is the server's event loop when the operation runs on another one (a big
    request, worked on off the server's loop): actions are called on the server's loop all the same.
    """

    request: Request | None = None
    authorization_header: str | None = None
    server_loop: asyncio.AbstractEventLoop | None = None


@dataclass(frozen=True)
class Argument:
    """One GraphQL argument of an action field: its parameter, what makes it JSON, and whether a
    null means "left out" (see :meth:`~._types.TypeMapper.null_is_default`)."""

    python_name: str
    convert: Converter
    null_is_default: bool = False


class ActionResolver:
    """Resolves one action field: access decision → arguments → JSON params → ``load_params`` →
    ``call`` → result.

    ``access_control`` is the action's (None: open; a token that is sent is checked all the same,
    by :func:`~servey_faas.authentication.authorize`, the decision REST makes). ``on_object`` is
    True for a nested action: the object the field is read on becomes the method's ``self``.
    """

    def __init__(
        self,
        invoker: ActionInvoker,
        arguments: Sequence[Argument],
        adapt_result: Converter,
        verifier: TokenVerifier | None,
        *,
        access_control: AccessControl | None = None,
        on_object: bool = False,
    ) -> None:
        self.invoker = invoker
        self._arguments = tuple(arguments)
        self._adapt = adapt_result
        self._verifier = verifier
        self._access_control = access_control
        self._on_object = on_object
        self._locate = _locator({p.name: p.type for p in invoker.params})

    def resolver(self) -> Callable[..., Any]:
        """The resolver graphql-core calls, as ``resolve(source, info, **arguments)`` with the
        arguments by GraphQL name as graphql-core coerced them (see :func:`~.binding.bind_resolvers`).
        One coroutine per call, no other layer."""
        invoker = self.invoker
        load_params, call = invoker.load_params, invoker.call
        by_graphql_name = {graphql_name(a.python_name): a for a in self._arguments}
        adapt, verifier, access_control, on_object, locate = (
            self._adapt,
            self._verifier,
            self._access_control,
            self._on_object,
            self._locate,
        )

        async def resolve(source: Any, info: Any, **arguments: Any) -> Any:  # info: a GraphQLResolveInfo
            context: GraphQLContext = info.context
            try:
                authorization = authorize(access_control, verifier, context.authorization_header)
            except AccessError as e:
                raise access_error(e) from None
            params: dict[str, Any] = {}
            for name, value in arguments.items():
                argument = by_graphql_name[name]
                if value is None:
                    if not argument.null_is_default:
                        params[argument.python_name] = None
                else:
                    convert = argument.convert
                    params[argument.python_name] = value if convert is None else convert(value)
            try:
                loaded = load_params(params, authorization)
            except ValidationError as e:
                raise validation_error(e, locate) from None
            except AccessError as e:
                raise access_error(e) from None
            if on_object:
                loaded[_SELF] = source
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

        resolve.__name__ = resolve.__qualname__ = invoker.name
        return resolve

    def signature(self, arguments: Sequence[tuple[str, Any, Any]], result: Any) -> Callable[..., Any]:
        """What strawberry reads the field's arguments and type from when it builds the schema: a
        function whose signature lists ``arguments`` (rows ``(python_name, annotation, default or
        inspect.Parameter.empty)``) with their strawberry annotations and published defaults, and
        returns ``result``. graphql-core calls :meth:`resolver` instead (see
        :func:`~.binding.bind_resolvers`); this one is never called."""

        def declared(**kwargs: Any) -> Any:
            raise RuntimeError(f"the GraphQL field of action {self.invoker.name!r} is resolved by its bound resolver")

        P = inspect.Parameter
        # strawberry reserves some argument names (the parent object, Info): an action parameter
        # with one of them is renamed in the signature and keeps its GraphQL name. strawberry finds
        # the parent object and Info by annotation, whatever their names.
        parameters = [
            P(f"{name}{_RENAMED}", P.KEYWORD_ONLY, annotation=_named(a, name), default=d)
            if name in _RESERVED
            else P(name, P.KEYWORD_ONLY, annotation=a, default=d)
            for name, a, d in arguments
        ]
        declared.__signature__ = inspect.Signature(parameters, return_annotation=result)  # type: ignore[attr-defined]
        declared.__name__ = declared.__qualname__ = self.invoker.name
        return declared


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


def _path(info: Any) -> str:
    parts: list[str] = []
    node: Any = info.path
    while node is not None:
        parts.append(str(node.key))
        node = node.prev
    return ".".join(reversed(parts))
