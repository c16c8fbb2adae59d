"""The resolvers graphql-core calls, put straight on the schema strawberry built.

Strawberry wraps every field's resolver in layers of its own for each call (its ``Info``, argument
conversion into its input types, field extensions), which cost more than resolving a small action
field itself. Those layers do nothing here: action fields take their arguments as graphql-core
coerces them (see :meth:`~.resolvers.ActionResolver.resolver`) and decide access themselves, and
the other fields read an attribute of the Python object. So each field's ``resolve`` is replaced:

- a field whose strawberry definition carries a resolver in ``metadata[RESOLVER]`` (action fields,
  fields adapted to their GraphQL form, ``_empty``) gets it;
- any other field reads the attribute of its Python name, as strawberry's default resolver does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, is_introspection_type

#: The key of a strawberry field's ``metadata`` holding its graphql-core resolver.
RESOLVER = "servey_faas.resolver"


def bind_resolvers(schema: GraphQLSchema) -> None:
    """Give every field of ``schema``'s object types (those strawberry made) its resolver, in
    place; see the module docstring. Call once, right after the schema is built."""
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or is_introspection_type(type_):
            continue
        for field in type_.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None:
                continue
            resolver = definition.metadata.get(RESOLVER)
            field.resolve = resolver if resolver is not None else attribute_resolver(definition.python_name)


def attribute_resolver(name: str) -> Callable[..., Any]:
    """A resolver reading the attribute ``name`` of the object the field is read on."""

    def resolve(source: Any, info: Any) -> Any:
        return getattr(source, name)

    return resolve
