"""GraphiQL, the in-browser GraphQL IDE, served by the app itself: the page and its files.

The JavaScript and CSS are vendored in ``static/`` (GraphiQL 3.8.3, React 18.2.0; sources,
checksums and licenses in ``static/README.md``), stored gzip-compressed and sent as they are with
``Content-Encoding: gzip`` when the request's ``Accept-Encoding`` allows it (RFC 9110 §12.5.3),
decompressed once otherwise. Their URLs carry a version token and are cached for a year.

The page uses relative URLs, so it keeps working under a path prefix (behind the OpenFaaS
gateway's ``/function/<name>/``); GraphiQL sends its queries to the page's own URL. No inline
script: the page works under its Content-Security-Policy (:data:`PAGE_CONTENT_SECURITY_POLICY`).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined
from starlette.requests import Request
from starlette.responses import Response

from servey_faas.errors import ConfigurationError
from servey_faas.web.responses import error_response

STATIC_DIR = Path(__file__).resolve().parent / "static"
GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.2.0"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"

#: Served name → (media type, sha256 of the decompressed file, from ``static/README.md``).
GRAPHIQL_FILES: Mapping[str, tuple[str, str]] = {
    "react.production.min.js": (JS, "4b4969fa4ef3594324da2c6d78ce8766fbbc2fd121fff395aedf997db0a99a06"),
    "react-dom.production.min.js": (JS, "21758ed084cd0e37e735722ee4f3957ea960628a29dfa6c3ce1a1d47a2d6e4f7"),
    "graphiql.min.js": (JS, "22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c"),
    "graphiql.min.css": (CSS, "b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2"),
}

ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
PAGE_CACHE_CONTROL = "no-cache"
#: GraphiQL styles elements from script (CodeMirror, React): styles need ``'unsafe-inline'``;
#: its fonts and icons are ``data:`` URLs.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"
)

#: Starts GraphiQL in ``#graphiql``, sending queries to the page's own URL; the first query shown
#: comes from the element's ``data-default-query``.
GRAPHIQL_INIT_JS = """\
(function () {
  var root = document.getElementById("graphiql");
  var url = window.location.href.split("#")[0].split("?")[0];
  var fetcher = GraphiQL.createFetcher({ url: url });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.getAttribute("data-default-query") || undefined,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false
    })
  );
})();
"""


class _Gzipped:
    """A gzip file on disk and, once asked for, its decompressed bytes."""

    __slots__ = ("_raw", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: bytes | None = None

    def gzipped(self) -> bytes:
        return self.path.read_bytes()

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = gzip.decompress(self.path.read_bytes())
        return self._raw


@dataclass(frozen=True)
class GraphiQLAssets:
    """The files the GraphiQL page loads, by served name, and the version token of their URLs."""

    token: str
    files: Mapping[str, tuple[str, _Gzipped | bytes]]

    @classmethod
    def locate(cls) -> GraphiQLAssets:
        """Find the vendored files (``stat`` only; nothing is read).

        :raises ConfigurationError: when a file is missing from the installed package.
        """
        fingerprint = hashlib.sha256(f"{GRAPHIQL_VERSION}\n{REACT_VERSION}\n{GRAPHIQL_INIT_JS}".encode())
        files: dict[str, tuple[str, _Gzipped | bytes]] = {}
        for name, (media_type, _) in GRAPHIQL_FILES.items():
            path = STATIC_DIR / f"{name}.gz"
            try:
                stat = path.stat()
            except OSError:
                raise ConfigurationError(
                    f"servey_faas is installed without {path.name} (looked in {STATIC_DIR})"
                ) from None
            fingerprint.update(f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
            files[name] = (media_type, _Gzipped(path))
        files["graphiql-init.js"] = (JS, GRAPHIQL_INIT_JS.encode())
        return cls(fingerprint.hexdigest()[:12], files)

    async def serve(self, request: Request) -> Response:
        """``GET <graphql path>/assets/{token}/{name}``."""
        found = self.files.get(request.path_params["name"])
        if found is None or request.path_params["token"] != self.token:
            return error_response(404, "not_found", "no such GraphiQL asset")
        media_type, source = found
        headers = {"Cache-Control": ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
        if isinstance(source, bytes):
            return Response(source, media_type=media_type, headers=headers)
        from servey_faas.web.docs import accepts_gzip

        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("accept-encoding")):
            headers["Content-Encoding"] = "gzip"
            return Response(source.gzipped(), media_type=media_type, headers=headers)
        return Response(source.raw(), media_type=media_type, headers=headers)


def graphiql_page(title: str, assets_base: str, default_query: str) -> bytes:
    """The HTML of the GraphiQL page; ``assets_base`` is the relative URL of the asset folder."""
    base = html.escape(assets_base, quote=True)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · GraphiQL</title>
<link rel="stylesheet" href="{base}/graphiql.min.css">
<style>body {{ margin: 0; height: 100vh; overflow: hidden; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql" data-default-query="{html.escape(default_query, quote=True)}">Loading GraphiQL…</div>
<script src="{base}/react.production.min.js"></script>
<script src="{base}/react-dom.production.min.js"></script>
<script src="{base}/graphiql.min.js"></script>
<script src="{base}/graphiql-init.js"></script>
</body>
</html>
""".encode()


def default_query(query_type: GraphQLObjectType, examples: Mapping[str, Mapping[str, object]]) -> str:
    """The query GraphiQL opens with: a comment, then the first Query field that has an example
    with only scalar params (``examples``: field name → GraphQL argument values), selecting the
    scalar fields of its result."""
    lines = [
        "# GET actions are Query fields, others Mutation fields.",
        "# Ctrl-Enter runs the operation. Protected actions",
        "# need a token in Headers:",
        '# {"Authorization": "Bearer <token>"}',
    ]
    for name, arguments in examples.items():
        field = query_type.fields.get(name)
        if field is None or any(not isinstance(v, (str, int, float, bool)) for v in arguments.values()):
            continue
        args = ", ".join(f"{k}: {_literal(v)}" for k, v in arguments.items())
        selection = _selection(field.type)
        if selection is None:
            continue
        lines += ["", "query {", f"  {name}{f'({args})' if args else ''}{selection}", "}"]
        break
    return "\n".join(lines) + "\n"


def _selection(type_: GraphQLOutputType) -> str | None:
    named = get_named_type(type_)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return ""
    if not isinstance(named, GraphQLObjectType):
        return None
    leaves = [
        field_name
        for field_name, f in named.fields.items()
        if isinstance(get_named_type(f.type), (GraphQLScalarType, GraphQLEnumType))
        and not any(isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined for a in f.args.values())
    ]
    return " { " + " ".join(leaves) + " }" if leaves else None


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
