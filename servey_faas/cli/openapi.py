"""``--run=openapi``: write the app's OpenAPI 3.1 document as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from servey_faas.cli._shared import RunCommand, load_app, write_output
from servey_faas.settings import Settings


@click.command("openapi", cls=RunCommand, short_help="Write the OpenAPI document of the app (JSON).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write the document to FILE (replacing it) instead of stdout.",
)
def openapi(output: Path | None) -> None:
    """Write the OpenAPI 3.1 document of the app's web actions as JSON (indented, UTF-8): the same
    document the dev server serves at /openapi.json. Written to stdout unless --output is given.
    """
    from servey_faas.web.openapi import build_openapi

    document = build_openapi(load_app(Settings.load(), verify_tokens=False))
    write_output(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output, "the OpenAPI document")
