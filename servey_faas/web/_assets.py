"""The files behind ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served by the app itself.

No page loads anything from a CDN:

- Swagger UI comes from the PyPI package ``swagger-ui-bundle-v2`` (Apache-2.0; the ``dist`` files
  of Swagger UI 5, its version being the Swagger UI version). Its files are found through the
  distribution's ``RECORD`` and only read: its module is never imported.
- ReDoc is vendored in this package: ``static/redoc.standalone.js.gz``, the standalone bundle of the
  npm package ``redoc`` (:data:`REDOC_VERSION`, MIT), stored gzip-compressed (the raw file is
  1.1 MB). Its source, checksum and update steps: ``servey_faas/web/static/README.md``.

Asset URLs carry a version token, so they can be cached for a year (``immutable``) and an upgrade
still reaches browsers under a new URL.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from servey_faas.errors import ConfigurationError

SWAGGER_UI_DISTRIBUTION = "swagger-ui-bundle-v2"
#: Version of the vendored ReDoc bundle (``static/README.md`` says where it comes from).
REDOC_VERSION = "2.5.4"
STATIC_DIR = Path(__file__).resolve().parent / "static"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
SOURCE_MAP = "application/json"
PNG = "image/png"
TEXT = "text/plain; charset=utf-8"

#: Served name → media type; the same names as in Swagger UI's ``dist`` folder.
_SWAGGER_UI_FILES: Mapping[str, str] = {
    "swagger-ui-bundle.js": JS,
    "swagger-ui-bundle.js.map": SOURCE_MAP,
    "swagger-ui.css": CSS,
    "swagger-ui.css.map": SOURCE_MAP,
    "favicon-32x32.png": PNG,
}
#: The file of ``_SWAGGER_UI_FILES`` whose folder, in the distribution's RECORD, holds the others.
_SWAGGER_UI_MARKER = "swagger-ui-bundle.js"

#: Served name → (file name under ``STATIC_DIR``, media type, whether the file is gzip-compressed).
_STATIC_FILES: Mapping[str, tuple[str, str, bool]] = {
    "redoc.standalone.js": ("redoc.standalone.js.gz", JS, True),
    # The notices the bundle's first line points at ("For license information please see ...").
    "redoc.standalone.js.LICENSE.txt": ("redoc.standalone.js.LICENSE.txt", TEXT, False),
}

#: Starts Swagger UI on ``#swagger-ui`` with the document named by its ``data-openapi-url``.
#: A file rather than an inline script, so pages work under a Content-Security-Policy without
#: ``'unsafe-inline'``. ``validatorUrl: null`` keeps Swagger UI from calling validator.swagger.io.
SWAGGER_INIT_JS = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null
  });
});
"""


class GzippedFile:
    """A file stored gzip-compressed (RFC 1952) on disk, for clients that take it as is, and its
    decompressed content for the others, read and decompressed on the first :meth:`content` call.

    One per :class:`DocsAssets`, so the cache lives as long as the routes that serve it.
    """

    __slots__ = ("_content", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._content: bytes | None = None

    def content(self) -> bytes:
        """The decompressed bytes (the bundle: 1.1 MB, a few milliseconds to decompress, once).

        Safe from several threads: a race decompresses twice and keeps equal bytes.

        :raises OSError: when the file cannot be read.
        :raises gzip.BadGzipFile: when it is not gzip data.
        """
        if self._content is None:
            self._content = gzip.decompress(self.path.read_bytes())
        return self._content


@dataclass(frozen=True)
class Asset:
    """One served file and its media type.

    ``source`` is a file sent as is (:class:`~pathlib.Path`), bytes in memory, or a
    :class:`GzippedFile` (sent as is with ``Content-Encoding: gzip`` to clients that accept gzip).
    """

    media_type: str
    source: Path | bytes | GzippedFile


@dataclass(frozen=True)
class DocsAssets:
    """Every file the docs pages load, by served name, and the version token their URLs carry."""

    token: str
    files: Mapping[str, Asset]
    #: Version of the installed ``swagger-ui-bundle-v2``, which is the Swagger UI version it ships.
    swagger_ui_version: str
    redoc_version: str = REDOC_VERSION

    @classmethod
    def locate(cls) -> DocsAssets:
        """Find the Swagger UI files of ``swagger-ui-bundle-v2`` (without importing it) and the
        vendored ReDoc files.

        Reads the distribution's metadata and ``RECORD`` and ``stat``\\ s each file; no asset is read.

        :raises ConfigurationError: when ``swagger-ui-bundle-v2`` is not installed, or a file is missing.
        """
        swagger_dir, swagger_version = _swagger_ui_dir()
        files: dict[str, Asset] = {}
        fingerprint = hashlib.sha256(f"{swagger_version}\n{REDOC_VERSION}\n{SWAGGER_INIT_JS}".encode())
        for name, media_type in _SWAGGER_UI_FILES.items():
            path = swagger_dir / name
            fingerprint.update(_stamp(name, path, SWAGGER_UI_DISTRIBUTION))
            files[name] = Asset(media_type, path)
        for name, (file_name, media_type, gzipped) in _STATIC_FILES.items():
            path = STATIC_DIR / file_name
            fingerprint.update(_stamp(name, path, "servey_faas"))
            files[name] = Asset(media_type, GzippedFile(path) if gzipped else path)
        files["swagger-ui-init.js"] = Asset(JS, SWAGGER_INIT_JS.encode())
        return cls(token=fingerprint.hexdigest()[:12], files=files, swagger_ui_version=swagger_version)


def _swagger_ui_dir() -> tuple[Path, str]:
    """The folder of the installed ``swagger-ui-bundle-v2`` holding Swagger UI's files, and its version.

    Found in the distribution's RECORD rather than through its module ``swagger_ui_bundle``, which
    the older distribution ``swagger-ui-bundle`` installs under the same name.
    """
    try:
        distribution = metadata.distribution(SWAGGER_UI_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ConfigurationError(
            f"the docs pages need the package {SWAGGER_UI_DISTRIBUTION!r} (Swagger UI files); "
            f"install it with: pip install {SWAGGER_UI_DISTRIBUTION}"
        ) from None
    markers = [
        Path(str(distribution.locate_file(entry)))
        for entry in distribution.files or ()
        if entry.name == _SWAGGER_UI_MARKER and entry.parts[:2] == ("swagger_ui_bundle", "vendor")
    ]
    if len(markers) != 1:
        raise ConfigurationError(
            f"{SWAGGER_UI_DISTRIBUTION} {distribution.version} lists {len(markers)} "
            f"swagger_ui_bundle/vendor/*/{_SWAGGER_UI_MARKER} files in its RECORD, expected 1; reinstall it"
        )
    return markers[0].parent, distribution.version


def _stamp(name: str, path: Path, owner: str) -> bytes:
    """``name size mtime`` of ``path``, for the version token.

    :raises ConfigurationError: when the file is missing.
    """
    try:
        stat = path.stat()
    except OSError:
        raise ConfigurationError(f"{owner} is installed without {path.name} (looked in {path.parent})") from None
    return f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode()
