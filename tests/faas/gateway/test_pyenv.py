"""The Python environment of each function of the local gateway (:mod:`~.pyenv`):
the gateway's interpreter when the build context's requirements are met there, else a virtual
environment built once per set of requirements and reused; a failed ``pip install`` leaves the
function unavailable with the reason in its logs.

The tests marked "needs PyPI" in their docstrings install a small package (``tomli-w``, pure
Python, no dependencies, not a dependency of servey_faas or its test extra) from PyPI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from servey_faas.faas.gateway.pyenv import (
    READY_MARKER,
    PythonEnvironments,
    environment_key,
    normalised,
    requirement_lines,
    satisfied,
)

from .conftest import RunningGateway, wait_until

FUNCTION = Path(__file__).with_name("pyenv_function.py")
#: Not installed in the test environment (checked by the test); pure Python, no dependencies.
SMALL = "tomli-w==1.0.0"
BAD = "nonexistent-package-servey-xyz==0.0.1"


def make_context(root: Path, name: str, requirements: str, function_requirements: str | None = None) -> Path:
    context = root / "build" / name
    (context / "function").mkdir(parents=True)
    shutil.copy(FUNCTION, context / "index.py")
    (context / "requirements.txt").write_text(requirements, encoding="utf-8")
    if function_requirements is not None:
        (context / "function" / "requirements.txt").write_text(function_requirements, encoding="utf-8")
    return context


def log_text(running: RunningGateway, name: str) -> str:
    return "".join(entry["text"] for entry in running.logs(name))


def test_requirement_lines_read_both_files_without_comments(tmp_path: Path) -> None:
    context = make_context(tmp_path, "f", "# header\nstarlette>=0.1  # web\n\nuvicorn\n", "Tomli_W == 1.0.0\n")
    assert requirement_lines(context) == ["starlette>=0.1", "uvicorn", "Tomli_W == 1.0.0"]
    (context / "function" / "requirements.txt").unlink()
    assert requirement_lines(context) == ["starlette>=0.1", "uvicorn"]


def test_the_key_ignores_order_spelling_and_duplicates() -> None:
    assert normalised("Tomli_W == 1.0.0") == "tomli-w==1.0.0"
    key = environment_key(["tomli-w==1.0.0", "six>=1"])
    assert key == environment_key(["six >= 1", "Tomli_W==1.0.0", "six>=1"])
    assert key != environment_key(["tomli-w==1.0.1", "six>=1"])
    assert len(key) == 64


def test_satisfied_checks_markers_versions_and_extras() -> None:
    assert satisfied([])
    assert satisfied(["packaging>=20", f'{BAD}; python_version < "3"'])
    assert not satisfied(["packaging<1"])
    assert not satisfied([BAD])
    assert not satisfied(["--index-url https://example.invalid/simple"])
    assert satisfied(["httpx[nonexistent-extra-with-deps]"])


def test_met_requirements_run_on_the_gateways_interpreter(running: RunningGateway, tmp_path: Path) -> None:
    context = make_context(tmp_path, "met", "packaging>=20\n", f'{BAD}; python_version < "3"\n')
    running.deploy("met", context)
    assert running.echo("/function/met", method="GET")["executable"] == sys.executable
    assert not (running.gateway.config.state_dir / "envs").exists()


def test_unmet_requirements_get_one_environment_shared_and_reused(running: RunningGateway, tmp_path: Path) -> None:
    """Needs PyPI: installs tomli-w 1.0.0 into a virtual environment."""
    from importlib import metadata

    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("tomli-w")
    one = make_context(tmp_path, "one", "packaging>=20\n", f"{SMALL}\n")
    two = make_context(tmp_path, "two", f"Tomli_W == 1.0.0\n{SMALL}\n", "packaging >= 20\n")
    env = {"envVars": {"REPORT_DISTRIBUTION": "tomli-w"}}
    for name, context in (("one", one), ("two", two)):  # both at once: one build, the other waits for it
        response = running.http.post("/system/functions", json=running.deployment(name, context, **env))
        assert response.status_code == 202, response.text
    running.wait_available("one")
    running.wait_available("two")
    envs = running.gateway.config.state_dir / "envs"
    folders = [p for p in envs.iterdir() if p.is_dir()]
    assert [p.name for p in folders] == [environment_key(requirement_lines(one))]
    assert (folders[0] / READY_MARKER).is_file()
    python = str(folders[0] / "bin" / "python")
    for name in ("one", "two"):
        assert running.echo(f"/function/{name}", method="GET") == {"executable": python, "version": "1.0.0"}
    logs = log_text(running, "one") + log_text(running, "two")
    assert logs.count("building the Python environment") == 1
    assert logs.count("reusing the Python environment") == 1
    assert "tomli" in logs.lower()  # pip's output is in the function's logs


def test_a_failed_install_leaves_the_function_unavailable_with_the_reason(
    running: RunningGateway, tmp_path: Path
) -> None:
    """Needs PyPI: pip looks the nonexistent package up there."""
    context = make_context(tmp_path, "bad", "packaging>=20\n", f"{BAD}\n")
    response = running.http.post("/system/functions", json=running.deployment("bad", context))
    assert response.status_code == 202, response.text
    logs = wait_until(
        lambda: (text := log_text(running, "bad")) and "cannot prepare the Python environment" in text and text,
        "the build failed",
    )
    assert "pip install" in logs and "failed with exit status" in logs
    assert BAD.split("==")[0] in logs
    assert running.status("bad").get("availableReplicas", 0) == 0
    envs = running.gateway.config.state_dir / "envs"
    assert not any((p / READY_MARKER).exists() for p in envs.iterdir() if p.is_dir())


def test_a_half_built_environment_is_built_again_then_reused(tmp_path: Path) -> None:
    """Needs PyPI: installs tomli-w 1.0.0 into a virtual environment."""
    context = make_context(tmp_path, "f", f"{SMALL}\n")
    environments = PythonEnvironments(tmp_path / "envs")
    folder = tmp_path / "envs" / environment_key([SMALL])
    folder.mkdir(parents=True)
    (folder / "left-over").write_text("an interrupted build", encoding="utf-8")
    lines: list[str] = []
    python = environments.python_for(context, lines.append)
    assert python == str(folder / "bin" / "python")
    assert not (folder / "left-over").exists()
    assert (folder / READY_MARKER).is_file()
    assert any("removing the unfinished Python environment" in line for line in lines)
    assert environments.python_for(context, lines.append) == python
    assert lines[-1].startswith("reusing the Python environment")
    assert "".join(lines).count("building the Python environment") == 1
    shown = subprocess.run([python, "-c", "import tomli_w, sys; print(sys.prefix)"], capture_output=True, check=True)
    assert shown.stdout.decode().strip() == str(folder)
