"""The celery-worker and celery-beat runs: help texts and user errors."""

from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner

from servey_faas.cli.celery import celery_cli
from servey_faas.errors import ConfigurationError
from tests.scheduling.conftest import HERE, celery_command


@pytest.mark.parametrize("run", ["celery-worker", "celery-beat"])
def test_help_documents_the_run_and_its_environment(run: str) -> None:
    done = subprocess.run([*celery_command(run), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "CELERY_BROKER" in done.stdout
    assert "CELERY_RESULT_BACKEND" in done.stdout


def test_worker_help_names_the_pools() -> None:
    result = CliRunner().invoke(celery_cli, ["celery-worker", "--help"])
    assert result.exit_code == 0
    assert "solo" in result.output and "servey_faas.<action name>" in result.output


@pytest.mark.parametrize("run", ["celery-worker", "celery-beat"])
def test_without_a_broker_the_run_stops_with_a_clear_error(run: str) -> None:
    result = CliRunner().invoke(celery_cli, [run], env={"CELERY_BROKER": ""})
    assert isinstance(result.exception, ConfigurationError)
    assert "CELERY_BROKER is not set" in str(result.exception)


def test_a_scheduled_action_with_required_params_stops_beat_at_startup() -> None:
    env = {**os.environ, "CELERY_BROKER": "redis://127.0.0.1:1/0", "SERVEY_ACTION_PATH": "bad_schedule_actions"}
    done = subprocess.run(
        [*celery_command("celery-beat")], capture_output=True, text=True, timeout=60, check=False, cwd=HERE, env=env
    )
    assert done.returncode != 0
    assert "action 'needs_input'" in done.stderr and "required params city" in done.stderr
