"""The GraphQL schema of an app, built once from its actions with strawberry.

- Every action with a ``WebTrigger`` is a root field named after the action in camelCase
  (``say_hello`` → ``sayHello``): a ``Query`` field when one of its triggers is a GET, a
  ``Mutation`` field when one uses another method (both when it has both). Actions reached only
  by schedules are not in the schema.
- Parameters are arguments (an ``Authorization`` parameter is not: it is injected); dataclasses
  become object and input types, see :mod:`servey_faas.web.graphql._types`.
- An ``@action`` method of a returned dataclass is a field of its object type, run on the object
  only when the field is selected; its parameters are the field's arguments.
- An action with ``access_control`` is guarded by its resolver, which makes the decision REST makes.
- Strawberry builds the types; graphql-core runs operations with resolvers of servey_faas's own
  (:mod:`.binding`), each distinct document parsed and validated once (:class:`~.execution.Operations`,
  :data:`DOCUMENT_CACHE_SIZE` documents kept).
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
from graphql import OperationType, is_introspection_type, is_specified_scalar_type
from graphql.utilities.print_schema import print_type
from strawberry.schema.config import StrawberryConfig
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from servey_faas.action import get_action
from servey_faas.errors import ActionDefinitionError
from servey_faas.invocation import ActionInvoker
from servey_faas.web.graphql._scalars import scalar_map
from servey_faas.web.graphql._types import TypeMapper, graphql_name, publish_defaults
from servey_faas.web.graphql.binding import RESOLVER, bind_resolvers
from servey_faas.web.graphql.execution import Operations, Outcome
from servey_faas.web.graphql.limits import limit_rules
from servey_faas.web.graphql.resolvers import ActionResolver, Argument, GraphQLContext, method_action

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp
    from servey_faas.authentication import TokenVerifier
    from servey_faas.schemas import TypeCodec
    from servey_faas.settings import LimitSettings

#: Distinct query texts whose parsed and validated document is kept (least recently used dropped).
DOCUMENT_CACHE_SIZE = 256
_QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


@dataclass(frozen=True)
class AppSchema:
    """The built schema and where each action went: ``queries`` and ``mutations`` map GraphQL
    field names to action names; ``nested`` maps ``Type.field`` to the action of a method.
    ``operations`` runs operations against it."""

    strawberry: strawberry.Schema
    queries: Mapping[str, str]
    mutations: Mapping[str, str]
    nested: Mapping[str, str]
    operations: Operations

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        context: Any = None,
        operation_name: str | None = None,
        allowed: frozenset[OperationType] = _QUERIES_AND_MUTATIONS,
    ) -> Outcome:
        """Run an operation (see :meth:`~.execution.Operations.run`; ``context`` is a
        :class:`~.resolvers.GraphQLContext`, default: one without a request)."""
        if context is None:
            context = GraphQLContext()
        return await self.operations.run(query, variables, operation_name, context, allowed)

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
                fields[invoker.name] = self._field(invoker)
        if not queries:
            queries["_empty"] = _empty_field()
        query = self._root("Query", queries)
        mutation = self._root("Mutation", mutations) if mutations else None
        self._types.finish()
        schema = strawberry.Schema(query=query, mutation=mutation, config=StrawberryConfig(scalar_map=scalar_map()))
        publish_defaults(schema._schema)
        bind_resolvers(schema._schema)
        limits = self._limits
        operations = Operations(schema._schema, limit_rules(limits), limits.graphql_max_tokens, DOCUMENT_CACHE_SIZE)
        return AppSchema(schema, query_actions, mutation_actions, dict(self._nested), operations)

    @staticmethod
    def _root(name: str, fields: Mapping[str, StrawberryField]) -> type:
        cls = type(name, (), {"__module__": __name__, **fields})
        return strawberry.type(cls, name=name)

    def _field(self, invoker: ActionInvoker, *, on_object: bool = False) -> StrawberryField:
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
        resolver = ActionResolver(
            invoker,
            arguments,
            types.output_adapter(invoker.result_type),
            self._verifier,
            access_control=action.access_control,
            on_object=on_object,
        )
        return StrawberryField(
            python_name=action.name,
            description=action.description,
            base_resolver=StrawberryResolver(resolver.signature(signature, types.output(invoker.result_type))),
            metadata={RESOLVER: resolver.resolver()},
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
            fields[action.name] = self._field(invoker, on_object=True)
            self._nested[key] = action.name
        return fields


def _empty_field() -> StrawberryField:
    def declared() -> bool | None:
        return None

    def resolve(source: Any, info: Any) -> None:
        return None

    declared.__annotations__ = {"return": bool | None}
    return StrawberryField(
        python_name="_empty",
        graphql_name="_empty",
        description="Always null: GraphQL needs a Query field, and this app has no GET actions.",
        base_resolver=StrawberryResolver(declared),
        metadata={RESOLVER: resolve},
    )
