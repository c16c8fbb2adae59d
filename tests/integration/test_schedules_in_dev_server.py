"""The dev server app runs fixed-rate actions from startup to shutdown, not at import,
and not when told not to (the OpenFaaS router: cron-connector owns schedules there)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from servey_faas import FixedRateTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.settings import Settings
from servey_faas.testing import TestClient
from servey_faas.web import create_app


def _ticking_app(tmp_path: Path) -> tuple[ServeyApp, list[float]]:
    fired: list[float] = []
    lock = threading.Lock()

    @action(triggers=(FixedRateTrigger(0.1),))
    def tick() -> None:
        with lock:
            fired.append(time.monotonic())

    # A project dir of its own: the single-scheduler lock is keyed on it.
    settings = Settings(project_dir=tmp_path)
    return ServeyApp.from_registry(ActionRegistry([get_action(tick)]), settings), fired  # type: ignore[list-item]


def _wait_for(condition: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_fixed_rate_actions_fire_between_startup_and_shutdown(tmp_path: Path) -> None:
    app, fired = _ticking_app(tmp_path)
    web = create_app(app)
    assert fired == []  # building the app starts nothing

    with TestClient(web):
        assert _wait_for(lambda: len(fired) >= 3), fired
    stopped_at = len(fired)
    time.sleep(0.5)

    assert len(fired) <= stopped_at + 1  # a run already started may finish; nothing new starts


def test_no_schedules_when_disabled(tmp_path: Path) -> None:
    app, fired = _ticking_app(tmp_path)

    with TestClient(create_app(app, schedules=False)):
        time.sleep(0.5)  # five intervals

    assert fired == []


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:1/0"])
def test_no_local_schedules_when_celery_owns_them(tmp_path: Path, broker: str) -> None:
    app, fired = _ticking_app(tmp_path)
    celery_app = ServeyApp(
        Settings(project_dir=tmp_path, celery=Settings.load({"CELERY_BROKER": broker}, tmp_path).celery),
        app.actions,
        app.invokers,
    )

    with TestClient(create_app(celery_app)):
        time.sleep(0.5)

    assert fired == []
