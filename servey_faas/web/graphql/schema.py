"""The GraphQL schema of an app, built once from its actions with strawberry.

- Every action with a ``WebTrigger`` is a root field named after the action in camelCase
  (``say_hello`` → ``sayHello``): a ``Query`` field when one of its triggers is a GET, a
  ``Mutation`` field when one uses another method (both when it has both). Actions reached only
  by schedules are not in the schema.
- Parameters are arguments (an ``Authorization`` parameter is not: it is injected); dataclasses
  become object and input types, see :mod:`servey_faas.web.graphql._types`.
- An ``@action`` method of a returned dataclass is a field of its object type, run on the object
  only when the field is selected; its parameters are the field's arguments.
- An action with ``access_control`` is guarded by :class:`~.resolvers.ActionPermission`.
- Strawberry's parser and validation caches are on, bounded to :data:`PARSER_CACHE_SIZE` and
  :data:`VALIDATION_CACHE_SIZE` documents (LRU); :class:`~.errors.ErrorCodes` gives the errors of
  those phases their ``extensions.code``.
- Documents are validated against the app's limits (``settings.limits``): selection depth, tokens,
  aliases and the nesting of argument values (see :mod:`servey_faas.web.graphql.limits`).

GraphQL needs a ``Query`` type with a field; an app without GET actions gets ``_empty: Boolean``
(always null) so that its mutations can still be served.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, is_introspection_type, is_specified_scalar_type
from graphql.utilities.print_schema import print_type
from strawberry.extensions import FieldExtension, ParserCache, ValidationCache
from strawberry.permission import PermissionExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from servey_faas.action import get_action
from servey_faas.errors import ActionDefinitionError
from servey_faas.invocation import ActionInvoker
from servey_faas.web.graphql._scalars import scalar_map
from servey_faas.web.graphql._types import TypeMapper, graphql_name, publish_defaults
from servey_faas.web.graphql.errors import ErrorCodes, log_internal_errors
from servey_faas.web.graphql.limits import limit_extensions
from servey_faas.web.graphql.resolvers import (
    ActionPermission,
    ActionResolver,
    Argument,
    method_action,
)

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

    from servey_faas.app import ServeyApp
    from servey_faas.authentication import TokenVerifier
    from servey_faas.schemas import TypeCodec
    from servey_faas.settings import LimitSettings

#: Distinct query texts whose parsed document is kept (strawberry ``ParserCache``).
PARSER_CACHE_SIZE = 256
#: Distinct documents whose validation result is kept (strawberry ``ValidationCache``).
VALIDATION_CACHE_SIZE = 256


class ActionSchema(strawberry.Schema):
    """A strawberry schema that logs internal errors only (with their traceback), not the
    client's mistakes; see :mod:`servey_faas.web.graphql.errors`."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_internal_errors(errors)


@dataclass(frozen=True)
class AppSchema:
    """The built schema and where each action went: ``queries`` and ``mutations`` map GraphQL
    field names to action names; ``nested`` maps ``Type.field`` to the action of a method."""

    strawberry: ActionSchema
    queries: Mapping[str, str]
    mutations: Mapping[str, str]
    nested: Mapping[str, str]

    def sdl(self) -> str:
        """The schema in the GraphQL schema definition language (parses with ``graphql.build_schema``):
        its types in alphabetical order, each as graphql-core prints it (with the defaults
        :func:`~._types.publish_defaults` gave it, which strawberry's printer does not show)."""
        schema = self.strawberry._schema
        types = [
            t for t in schema.type_map.values() if not is_introspection_type(t) and not is_specified_scalar_type(t)
        ]
        return "\n\n".join(print_type(t) for t in sorted(types, key=lambda t: t.name)) + "\n"


def build_schema(app: ServeyApp) -> AppSchema:
    """The GraphQL schema of ``app``'s web actions. Call once per app.

    :raises ActionDefinitionError: when two actions (or an action method and a field) want one
        GraphQL field name, or a nested action method cannot be typed.
    """
    return _Builder(app.invokers.values(), app.verifier, app.settings.limits).build()


class _Builder:
    def __init__(
        self, invokers: Iterable[ActionInvoker], verifier: TokenVerifier | None, limits: LimitSettings
    ) -> None:
        self._invokers = list(invokers)
        self._verifier = verifier
        self._limits = limits
        codec: TypeCodec | None = self._invokers[0].codec if self._invokers else None
        if codec is None:
            from servey_faas.schemas import TypeCodec

            codec = TypeCodec()
        self._codec = codec
        self._types = TypeMapper(codec, self._method_fields)
        self._nested: dict[str, str] = {}

    def build(self) -> AppSchema:
        queries: dict[str, StrawberryField] = {}
        mutations: dict[str, StrawberryField] = {}
        query_actions: dict[str, str] = {}
        mutation_actions: dict[str, str] = {}
        for invoker in self._invokers:
            methods = {t.method for t in invoker.action.web_triggers}
            if not methods:
                continue
            name = graphql_name(invoker.name)
            for fields, actions, wanted in (
                (queries, query_actions, methods & {"GET"}),
                (mutations, mutation_actions, methods - {"GET"}),
            ):
                if not wanted:
                    continue
                if name in actions:
                    raise ActionDefinitionError(
                        f"actions {actions[name]!r} and {invoker.name!r} both want the GraphQL field {name!r}"
                    )
                actions[name] = invoker.name
                fields[invoker.name] = self._field(invoker, invoker.name)
        if not queries:
            queries["_empty"] = _empty_field()
        query = self._root("Query", queries)
        mutation = self._root("Mutation", mutations) if mutations else None
        self._types.finish()
        schema = ActionSchema(
            query=query,
            mutation=mutation,
            extensions=[
                lambda: ParserCache(maxsize=PARSER_CACHE_SIZE),
                lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
                *limit_extensions(self._limits),
                ErrorCodes,
            ],
            config=StrawberryConfig(scalar_map=scalar_map()),
        )
        publish_defaults(schema._schema)
        return AppSchema(schema, query_actions, mutation_actions, dict(self._nested))

    @staticmethod
    def _root(name: str, fields: Mapping[str, StrawberryField]) -> type:
        cls = type(name, (), {"__module__": __name__, **fields})
        return strawberry.type(cls, name=name)

    def _field(self, invoker: ActionInvoker, key: str, *, on_object: bool = False) -> StrawberryField:
        action = invoker.action
        types = self._types
        signature: list[tuple[str, Any, Any]] = []
        arguments: list[Argument] = []
        for p in invoker.params:
            if p.name == "info":
                # graphql-core calls every resolver as resolve(source, info, **arguments)
                raise ActionDefinitionError(
                    f"action {invoker.name!r}: a parameter named 'info' cannot be a GraphQL argument "
                    "(graphql-core passes its own 'info' to every resolver); rename it"
                )
            if p.required:
                signature.append((p.name, types.input(p.type), inspect.Parameter.empty))
                arguments.append(Argument(p.name, types.argument_converter(p.type)))
                continue
            optional = types.optional_input(p.type, value=p.default)
            signature.append((p.name, optional.annotation, optional.default))
            arguments.append(Argument(p.name, types.argument_converter(p.type), optional.null_is_default))
        protected = action.access_control is not None
        resolver = ActionResolver(
            invoker,
            arguments,
            types.output_adapter(invoker.result_type),
            self._verifier,
            key=key,
            protected=protected,
            on_object=on_object,
        )
        extensions: list[FieldExtension] = []
        if action.access_control is not None:
            permission = ActionPermission(key, action.access_control, self._verifier)
            extensions.append(PermissionExtension(permissions=[permission], use_directives=False))
        return StrawberryField(
            python_name=action.name,
            description=action.description,
            base_resolver=StrawberryResolver(resolver.function(signature, types.output(invoker.result_type))),
            extensions=extensions,
        )

    def _method_fields(self, owner: type) -> dict[str, StrawberryField]:
        """The fields of ``owner``'s ``@action`` methods (schedule-only ones left out)."""
        fields: dict[str, StrawberryField] = {}
        for attribute in dir(owner):
            member = inspect.getattr_static(owner, attribute, None)
            if not inspect.isfunction(member):
                continue
            action = get_action(member)
            if action is None or (action.triggers and not action.web_triggers):
                continue
            invoker = ActionInvoker(method_action(action, owner), self._codec)
            key = f"{owner.__qualname__}.{action.name}"
            fields[action.name] = self._field(invoker, key, on_object=True)
            self._nested[key] = action.name
        return fields


def _empty_field() -> StrawberryField:
    def resolve() -> bool | None:
        return None

    resolve.__annotations__ = {"return": bool | None}
    return StrawberryField(
        python_name="_empty",
        graphql_name="_empty",
        description="Always null: GraphQL needs a Query field, and this app has no GET actions.",
        base_resolver=StrawberryResolver(resolve),
    )
