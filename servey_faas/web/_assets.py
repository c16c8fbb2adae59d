"""The files behind ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served by the app itself.

No page loads anything from a CDN. The Swagger UI and ReDoc builds come from the PyPI package
``drf-spectacular-sidecar`` (BSD-3-Clause; it repackages the npm ``swagger-ui-dist`` and ``redoc``
builds every month). Its files are only read: its Python modules are never imported, so Django,
which that package declares as a dependency, is never loaded.

Asset URLs carry a version token, so they can be cached for a year (``immutable``) and an upgrade
still reaches browsers under a new URL.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from servey_faas.errors import ConfigurationError

ASSETS_DISTRIBUTION = "drf-spectacular-sidecar"
_ASSETS_PACKAGE = "drf_spectacular_sidecar"
_STATIC = Path("static") / "drf_spectacular_sidecar"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
SOURCE_MAP = "application/json"

#: Served name → (path under the package's static folder, media type).
_VENDOR_FILES: Mapping[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (Path("swagger-ui-dist/swagger-ui-bundle.js"), JS),
    "swagger-ui-bundle.js.map": (Path("swagger-ui-dist/swagger-ui-bundle.js.map"), SOURCE_MAP),
    "swagger-ui.css": (Path("swagger-ui-dist/swagger-ui.css"), CSS),
    "swagger-ui.css.map": (Path("swagger-ui-dist/swagger-ui.css.map"), SOURCE_MAP),
    "favicon-32x32.png": (Path("swagger-ui-dist/favicon-32x32.png"), "image/png"),
    "redoc.standalone.js": (Path("redoc/bundles/redoc.standalone.js"), JS),
    "redoc.standalone.js.map": (Path("redoc/bundles/redoc.standalone.js.map"), SOURCE_MAP),
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


@dataclass(frozen=True)
class Asset:
    """One served file: from disk (``path``) or from memory (``content``), with its media type."""

    media_type: str
    path: Path | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class DocsAssets:
    """Every file the docs pages load, by name, and the version token their URLs carry."""

    token: str
    files: Mapping[str, Asset]
    #: Version of the installed drf-spectacular-sidecar.
    distribution_version: str

    @classmethod
    def locate(cls) -> DocsAssets:
        """Find the files of the installed ``drf-spectacular-sidecar`` (without importing it).

        Costs a few ``stat`` calls; no file is read.

        :raises ConfigurationError: when the package is not installed or lacks a file.
        """
        spec = importlib.util.find_spec(_ASSETS_PACKAGE)
        locations = list(spec.submodule_search_locations or ()) if spec is not None else []
        if not locations:
            raise ConfigurationError(
                f"the docs pages need the package {ASSETS_DISTRIBUTION!r} (Swagger UI and ReDoc files); "
                f"install it with: pip install {ASSETS_DISTRIBUTION}"
            )
        static = Path(locations[0]) / _STATIC
        version = _version()
        fingerprint = hashlib.sha256(f"{version}\n{SWAGGER_INIT_JS}".encode())
        files: dict[str, Asset] = {}
        for name, (relative, media_type) in _VENDOR_FILES.items():
            path = static / relative
            try:
                stat = path.stat()
            except OSError:
                raise ConfigurationError(
                    f"{ASSETS_DISTRIBUTION} is installed without {relative} (looked in {static})"
                ) from None
            fingerprint.update(f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
            files[name] = Asset(media_type, path=path)
        files["swagger-ui-init.js"] = Asset(JS, content=SWAGGER_INIT_JS.encode())
        return cls(token=fingerprint.hexdigest()[:12], files=files, distribution_version=version)


def _version() -> str:
    try:
        return metadata.version(ASSETS_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # found on sys.path without metadata (vendored copy)
        return "unknown"
