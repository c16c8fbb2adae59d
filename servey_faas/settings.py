"""Settings read once from the environment and ``pyproject.toml`` into a typed object."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servey_faas.authentication import JwtSettings
from servey_faas.errors import ConfigurationError

DEFAULT_ACTION_PATH = "actions"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class Settings:
    """Where the actions are and how the dev server listens.

    Precedence for ``action_path``: ``SERVEY_ACTION_PATH``, then ``[tool.servey_faas] actions``
    in ``pyproject.toml`` of ``project_dir``, then ``actions``.
    """

    project_dir: Path = Path(".")
    action_path: str = DEFAULT_ACTION_PATH
    server_host: str = DEFAULT_HOST
    server_port: int = DEFAULT_PORT
    function_prefix: str = ""
    jwt: JwtSettings = JwtSettings()

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, project_dir: Path | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``) and ``project_dir``'s pyproject.

        :raises ConfigurationError: for an unreadable ``pyproject.toml`` or a bad port.
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
            function_prefix=str(tool.get("function_prefix") or ""),
            jwt=JwtSettings.from_environ(env),
        )


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
