"""GraphQL for the app's actions (strawberry-graphql): the schema, its resolvers, ``/graphql`` and
GraphiQL.

Every web action is a field (GET → ``Query``, other methods → ``Mutation``) resolved through the
same invocation path as REST, so both transports validate, authorize and answer alike. Built once
per app by :func:`graphql_routes` (which :func:`servey_faas.web.create_app` calls) or
:func:`build_schema` (for the SDL: ``python -m servey_faas --run=graphql-schema``).
"""

from servey_faas.web.graphql.routes import GRAPHQL_PATH, graphql_routes
from servey_faas.web.graphql.schema import AppSchema, build_schema

__all__ = ["GRAPHQL_PATH", "AppSchema", "build_schema", "graphql_routes"]
