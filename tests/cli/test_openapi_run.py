"""``--run=openapi``: the app's OpenAPI document as JSON, on stdout or in a file."""

from __future__ import annotations

import json
from pathlib import Path

from servey_faas.app import ServeyApp
from servey_faas.settings import Settings
from servey_faas.web.openapi import build_openapi

from .support import BROKEN_ACTIONS, MakeProject, invoke


def expected_document() -> object:
    """What build_openapi makes of the app in the current folder (the CLI must write exactly that)."""
    return json.loads(json.dumps(build_openapi(ServeyApp.load(Settings.load()))))


def test_writes_the_document_to_stdout(demo: Path) -> None:
    result = invoke("--run=openapi")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == expected_document()
    assert str(document["openapi"]).startswith("3.1")
    assert result.stdout.endswith("}\n")
    assert result.stderr == ""


def test_writes_the_document_to_a_file(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    target.write_text("old content", encoding="utf-8")
    result = invoke("--run=openapi", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote the OpenAPI document to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == expected_document()


def test_short_output_option(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    assert invoke("--run=openapi", "-o", str(target)).exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == expected_document()


def test_unwritable_output_is_an_error(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "openapi.json"
    result = invoke("--run=openapi", f"--output={target}")
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write the OpenAPI document to {target}: No such file or directory\n"
    assert not target.exists()


def test_output_that_is_a_folder_is_a_usage_error(demo: Path, tmp_path: Path) -> None:
    result = invoke("--run=openapi", f"--output={tmp_path}")
    assert result.exit_code == 2
    assert "Invalid value for '--output' / '-o'" in result.stderr
    assert "is a directory" in result.stderr


def test_broken_actions_module_is_an_error(project: MakeProject) -> None:
    made = project(BROKEN_ACTIONS)
    result = invoke("--run=openapi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: cannot import actions module '{made.package}'")
    assert "Traceback" not in result.stderr
