"""Settings from the environment and pyproject.toml (servey_faas/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from servey_faas.errors import ConfigurationError
from servey_faas.settings import MAX_JSON_DEPTH_LIMIT, LimitSettings, Settings


def _pyproject(project: Path, text: str) -> Path:
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    return project


def test_defaults_without_pyproject_or_environment(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, project_dir=tmp_path)
    assert settings == Settings(project_dir=tmp_path)
    assert settings.action_path == "actions"
    assert settings.server_host == "127.0.0.1"  # never 0.0.0.0 by default
    assert settings.server_port == 8000
    assert settings.function_prefix == ""


def test_pyproject_without_tool_table_gives_defaults(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[project]\nname = "x"\n')
    assert Settings.load(environ={}, project_dir=tmp_path).action_path == "actions"


def test_pyproject_actions_and_prefix(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.servey_faas]\nactions = "myapp.api"\nfunction_prefix = "shop-"\n')
    settings = Settings.load(environ={}, project_dir=tmp_path)
    assert settings.action_path == "myapp.api"
    assert settings.function_prefix == "shop-"


def test_environment_wins_over_pyproject(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.servey_faas]\nactions = "from_pyproject"\n')
    settings = Settings.load(environ={"SERVEY_ACTION_PATH": "from_env"}, project_dir=tmp_path)
    assert settings.action_path == "from_env"


def test_empty_environment_variable_falls_back_to_pyproject(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.servey_faas]\nactions = "from_pyproject"\n')
    assert Settings.load(environ={"SERVEY_ACTION_PATH": ""}, project_dir=tmp_path).action_path == "from_pyproject"


def test_reads_os_environ_and_cwd_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _pyproject(tmp_path, '[tool.servey_faas]\nactions = "cwd_actions"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERVEY_ACTION_PATH", raising=False)
    monkeypatch.setenv("SERVER_HOST", "::1")
    monkeypatch.setenv("SERVER_PORT", "8123")
    settings = Settings.load()
    assert settings.project_dir == tmp_path
    assert settings.action_path == "cwd_actions"
    assert settings.server_host == "::1"
    assert settings.server_port == 8123


@pytest.mark.parametrize("port", ["0", "1", "65535"])
def test_server_port_range(tmp_path: Path, port: str) -> None:
    assert Settings.load(environ={"SERVER_PORT": port}, project_dir=tmp_path).server_port == int(port)


@pytest.mark.parametrize("port", ["http", "80.5", "", "8000x"])
def test_server_port_must_be_a_number(tmp_path: Path, port: str) -> None:
    with pytest.raises(ConfigurationError, match="SERVER_PORT must be a port number"):
        Settings.load(environ={"SERVER_PORT": port}, project_dir=tmp_path)


@pytest.mark.parametrize("port", ["-1", "65536", "100000"])
def test_server_port_must_be_in_range(tmp_path: Path, port: str) -> None:
    with pytest.raises(ConfigurationError, match="between 0 and 65535"):
        Settings.load(environ={"SERVER_PORT": port}, project_dir=tmp_path)


@pytest.mark.parametrize(("text", "seconds"), [(None, 10.0), ("", 10.0), ("0", 0.0), ("2.5", 2.5), ("30", 30.0)])
def test_server_shutdown_grace(tmp_path: Path, text: str | None, seconds: float) -> None:
    environ = {} if text is None else {"SERVER_SHUTDOWN_GRACE": text}
    assert Settings.load(environ=environ, project_dir=tmp_path).server_shutdown_grace == seconds


@pytest.mark.parametrize("text", ["-1", "soon", "inf", "nan", "1e400"])
def test_server_shutdown_grace_must_be_finite_seconds(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigurationError, match=f"SERVER_SHUTDOWN_GRACE must be seconds >= 0, not '{text}'"):
        Settings.load(environ={"SERVER_SHUTDOWN_GRACE": text}, project_dir=tmp_path)


def test_malformed_pyproject_is_a_configuration_error(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.servey_faas\nactions = \n")
    with pytest.raises(ConfigurationError, match=r"cannot read .*pyproject\.toml"):
        Settings.load(environ={}, project_dir=tmp_path)


def test_unreadable_pyproject_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()  # a directory cannot be read as a file (also as root)
    with pytest.raises(ConfigurationError, match="cannot read"):
        Settings.load(environ={}, project_dir=tmp_path)


def test_undecodable_pyproject_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.servey_faas]\nactions = "\xff"\n')
    with pytest.raises(ConfigurationError, match="cannot read"):
        Settings.load(environ={}, project_dir=tmp_path)


@pytest.mark.parametrize("text", ['[tool]\nservey_faas = "actions"\n', 'tool = "x"\n', "tool = [1, 2]\n"])
def test_tool_table_of_the_wrong_shape_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    _pyproject(tmp_path, text)
    with pytest.raises(ConfigurationError, match="must be a table"):
        Settings.load(environ={}, project_dir=tmp_path)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, project_dir=tmp_path)
    with pytest.raises(AttributeError):
        settings.server_port = 1  # type: ignore[misc]


# --- limits ------------------------------------------------------------------------------------------


def test_limit_defaults(tmp_path: Path) -> None:
    limits = Settings.load(environ={}, project_dir=tmp_path).limits
    assert limits == LimitSettings()
    assert (limits.max_body_bytes, limits.max_json_depth) == (1024 * 1024, 64)  # nginx's client_max_body_size
    assert (limits.graphql_max_depth, limits.graphql_max_tokens, limits.graphql_max_aliases) == (10, 1000, 15)


def test_limits_from_the_environment(tmp_path: Path) -> None:
    environ = {
        "SERVEY_MAX_BODY_BYTES": "4096",
        "SERVEY_MAX_JSON_DEPTH": f" {MAX_JSON_DEPTH_LIMIT} ",
        "SERVEY_GRAPHQL_MAX_DEPTH": "3",
        "SERVEY_GRAPHQL_MAX_TOKENS": "50",
        "SERVEY_GRAPHQL_MAX_ALIASES": "",  # empty: the default
    }
    assert Settings.load(environ=environ, project_dir=tmp_path).limits == LimitSettings(
        max_body_bytes=4096, max_json_depth=MAX_JSON_DEPTH_LIMIT, graphql_max_depth=3, graphql_max_tokens=50
    )


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "1e3", "ten", "1_000", "٣"])
@pytest.mark.parametrize("name", ["SERVEY_MAX_BODY_BYTES", "SERVEY_MAX_JSON_DEPTH", "SERVEY_GRAPHQL_MAX_TOKENS"])
def test_a_limit_must_be_a_positive_whole_number(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive whole number, not {value!r}"):
        Settings.load(environ={name: value}, project_dir=tmp_path)


def test_the_json_depth_limit_has_a_ceiling(tmp_path: Path) -> None:
    too_deep = str(MAX_JSON_DEPTH_LIMIT + 1)
    with pytest.raises(ConfigurationError, match=f"SERVEY_MAX_JSON_DEPTH must be at most {MAX_JSON_DEPTH_LIMIT}"):
        Settings.load(environ={"SERVEY_MAX_JSON_DEPTH": too_deep}, project_dir=tmp_path)
