"""Settings read once from the environment and ``pyproject.toml`` into a typed object."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servey_faas.authentication import JwtSettings
from servey_faas.errors import ConfigurationError

DEFAULT_ACTION_PATH = "actions"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Seconds the dev server lets requests in flight finish once told to stop (SIGTERM, SIGINT).
DEFAULT_SHUTDOWN_GRACE = 10.0
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Settings:
    """Where the actions are and how the dev server listens.

    Precedence for ``action_path``: ``SERVEY_ACTION_PATH``, then ``[tool.servey_faas] actions``
    in ``pyproject.toml`` of ``project_dir``, then ``actions``.

    ``debug_authenticator`` (``SERVEY_DEBUG_AUTHENTICATOR=1``; off by default) serves ``POST
    /debug/token``, which signs a token for any subject and scopes: development only.

    ``server_shutdown_grace`` (``SERVER_SHUTDOWN_GRACE``, seconds, default 10) is how long the dev
    server lets requests in flight finish once told to stop (uvicorn's ``timeout_graceful_shutdown``).
    """

    project_dir: Path = Path(".")
    action_path: str = DEFAULT_ACTION_PATH
    server_host: str = DEFAULT_HOST
    server_port: int = DEFAULT_PORT
    server_shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    function_prefix: str = ""
    jwt: JwtSettings = field(default_factory=JwtSettings)
    celery: CelerySettings = field(default_factory=lambda: CelerySettings())
    debug_authenticator: bool = False
    limits: LimitSettings = field(default_factory=lambda: LimitSettings())

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, project_dir: Path | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``) and ``project_dir``'s pyproject.

        :raises ConfigurationError: for an unreadable ``pyproject.toml``, a bad port, limit or grace.
        """
        env = os.environ if environ is None else environ
        root = Path.cwd() if project_dir is None else project_dir
        tool = _read_tool_table(root / "pyproject.toml")
        port_text = env.get("SERVER_PORT", str(DEFAULT_PORT))
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigurationError(f"SERVER_PORT must be a port number, not {port_text!r}") from None
        if not 0 <= port <= 65535:
            raise ConfigurationError(f"SERVER_PORT must be between 0 and 65535, not {port}")
        return cls(
            project_dir=root,
            action_path=env.get("SERVEY_ACTION_PATH") or str(tool.get("actions") or DEFAULT_ACTION_PATH),
            server_host=env.get("SERVER_HOST") or DEFAULT_HOST,
            server_port=port,
            server_shutdown_grace=shutdown_grace(env.get("SERVER_SHUTDOWN_GRACE") or str(DEFAULT_SHUTDOWN_GRACE)),
            function_prefix=str(tool.get("function_prefix") or ""),
            jwt=JwtSettings.from_environ(env),
            celery=CelerySettings.load(env),
            debug_authenticator=env.get("SERVEY_DEBUG_AUTHENTICATOR", "").strip().lower() in _TRUE_WORDS,
            limits=LimitSettings.load(env),
        )


def shutdown_grace(text: str) -> float:
    """``SERVER_SHUTDOWN_GRACE`` (or ``--shutdown-grace``) as seconds: a finite number >= 0.

    :raises ConfigurationError: naming the value otherwise.
    """
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise ConfigurationError(f"SERVER_SHUTDOWN_GRACE must be seconds >= 0, not {text!r}")
    return seconds


def _read_tool_table(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigurationError(f"cannot read {path}: {e}") from e
    tool = data.get("tool", {})
    table = tool.get("servey_faas", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigurationError(f"{path}: [tool.servey_faas] must be a table")
    return table


@dataclass(frozen=True)
class CelerySettings:
    """Where Celery's broker and (optional) result backend are.

    ``broker_url`` None means Celery is off: the dev server runs the schedules itself and
    background channels use a local worker thread. ``beat_lock_key`` None means the default key
    (derived from the actions module by :func:`servey_faas.scheduling.celery_app.beat_lock_key`).
    """

    broker_url: str | None = None
    result_backend: str | None = None
    beat_lock_key: str | None = None

    @property
    def enabled(self) -> bool:
        """True when a broker is configured, i.e. Celery owns schedules and background work."""
        return self.broker_url is not None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> CelerySettings:
        """Read ``CELERY_BROKER``, ``CELERY_RESULT_BACKEND`` and ``CELERY_BEAT_LOCK_KEY`` from
        ``environ`` (default ``os.environ``). Empty values count as unset.

        :raises ConfigurationError: when a value is not a URL (``scheme://...``).
        """
        env = os.environ if environ is None else environ
        broker = env.get("CELERY_BROKER", "").strip() or None
        backend = env.get("CELERY_RESULT_BACKEND", "").strip() or None
        lock_key = env.get("CELERY_BEAT_LOCK_KEY", "").strip() or None
        for name, url in (("CELERY_BROKER", broker), ("CELERY_RESULT_BACKEND", backend)):
            if url is not None and "://" not in url:
                raise ConfigurationError(f"{name} must be a URL such as redis://127.0.0.1:6379/0, not {url!r}")
        return cls(broker_url=broker, result_backend=backend, beat_lock_key=lock_key)


#: The largest JSON nesting depth :class:`LimitSettings` accepts: graphql-core refuses variables
#: nested deeper (its ``MAX_NESTING_DEPTH``), and validating and loading params this deep stays well
#: inside Python's default recursion limit on every transport.
MAX_JSON_DEPTH_LIMIT = 200


@dataclass(frozen=True)
class LimitSettings:
    """Size and shape limits on what a request may carry, on the dev server and in functions.

    - ``max_body_bytes`` (``SERVEY_MAX_BODY_BYTES``, default 1 MiB as nginx's
      ``client_max_body_size``): a larger request body is refused with 413, from its
      ``Content-Length`` before it is read, or as soon as a chunked body grows past it;
    - ``max_json_depth`` (``SERVEY_MAX_JSON_DEPTH``, default 64, at most
      :data:`MAX_JSON_DEPTH_LIMIT`): JSON nested deeper (arrays and objects, counting the outermost)
      in a body, a JSON query param or GraphQL ``variables`` is refused with 400 before it is
      parsed; so is a GraphQL input value literal nested deeper;
    - ``graphql_max_depth`` (``SERVEY_GRAPHQL_MAX_DEPTH``, default 10): the deepest selection set
      of a GraphQL operation (introspection fields not counted; strawberry's ``QueryDepthLimiter``);
    - ``graphql_max_tokens`` (``SERVEY_GRAPHQL_MAX_TOKENS``, default 1000): tokens of a GraphQL
      document (strawberry's ``MaxTokensLimiter``: the parser stops past it);
    - ``graphql_max_aliases`` (``SERVEY_GRAPHQL_MAX_ALIASES``, default 15): aliased fields in a
      GraphQL document (strawberry's ``MaxAliasesLimiter``).
    """

    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 64
    graphql_max_depth: int = 10
    graphql_max_tokens: int = 1000
    graphql_max_aliases: int = 15

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> LimitSettings:
        """Read the limits from ``environ`` (default ``os.environ``); unset or empty: the default.

        :raises ConfigurationError: for a value that is not a positive decimal integer, or a
            ``SERVEY_MAX_JSON_DEPTH`` above :data:`MAX_JSON_DEPTH_LIMIT`.
        """
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_body_bytes=_positive(env, "SERVEY_MAX_BODY_BYTES", default.max_body_bytes),
            max_json_depth=_positive(env, "SERVEY_MAX_JSON_DEPTH", default.max_json_depth, MAX_JSON_DEPTH_LIMIT),
            graphql_max_depth=_positive(env, "SERVEY_GRAPHQL_MAX_DEPTH", default.graphql_max_depth),
            graphql_max_tokens=_positive(env, "SERVEY_GRAPHQL_MAX_TOKENS", default.graphql_max_tokens),
            graphql_max_aliases=_positive(env, "SERVEY_GRAPHQL_MAX_ALIASES", default.graphql_max_aliases),
        )


def _positive(env: Mapping[str, str], name: str, default: int, maximum: int | None = None) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigurationError(f"{name} must be a positive whole number, not {text!r}")
    value = int(text)
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum}, not {value}")
    return value
