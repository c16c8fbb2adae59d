"""``--run=graphql-schema``: write the GraphQL schema of the app in SDL."""

from __future__ import annotations

from pathlib import Path

import click

from servey_faas.cli._shared import RunCommand, load_app, write_output
from servey_faas.settings import Settings


@click.command("graphql-schema", cls=RunCommand, short_help="Write the GraphQL schema of the app (SDL).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write the schema to FILE (replacing it) instead of stdout.",
)
def graphql_schema(output: Path | None) -> None:
    """Write the GraphQL schema of the app's web actions in the schema definition language
    (GraphQL spec §3, UTF-8): the schema the dev server serves at /graphql. GET actions are Query
    fields, the other web actions Mutation fields. Written to stdout unless --output is given.
    """
    from servey_faas.web.graphql import build_schema

    write_output(build_schema(load_app(Settings.load(), verify_tokens=False)).sdl(), output, "the GraphQL schema")
