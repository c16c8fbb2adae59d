"""The Celery app of a ServeyApp, in process (no broker is contacted)."""

from __future__ import annotations

import gc

import pytest

from servey_faas import FixedRateTrigger, WebTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError, ValidationError
from servey_faas.scheduling import CelerySettings
from servey_faas.scheduling.celery_app import SingleBeatScheduler, beat_lock_key, create_celery_app
from servey_faas.settings import Settings

SETTINGS = CelerySettings(broker_url="redis://127.0.0.1:1/0")


@action(triggers=(FixedRateTrigger(2),))
def heartbeat(note: str = "ok") -> dict[str, str]:
    return {"note": note}


@action(triggers=(WebTrigger("GET"),))
def add(a: int, b: int = 1) -> int:
    return a + b


@action(triggers=(FixedRateTrigger(2),))
async def async_heartbeat() -> str:
    return "async ok"


def _app() -> ServeyApp:
    actions = [a for a in map(get_action, (heartbeat, add, async_heartbeat)) if a is not None]
    return ServeyApp.from_registry(ActionRegistry(actions), Settings(action_path="my_actions"))


def test_tasks_and_beat_schedule_are_held_by_the_celery_app_through_garbage_collection() -> None:
    celery = create_celery_app(_app(), SETTINGS)
    gc.collect()
    assert {"servey_faas.heartbeat", "servey_faas.add", "servey_faas.async_heartbeat"} <= set(celery.tasks)
    scheduler = SingleBeatScheduler(app=celery)
    gc.collect()
    assert {"heartbeat", "async_heartbeat"} <= set(scheduler.schedule)
    assert "add" not in scheduler.schedule
    assert scheduler.schedule["heartbeat"].task == "servey_faas.heartbeat"
    scheduler.close()


def test_a_task_takes_json_params_and_returns_json_through_the_invoker() -> None:
    celery = create_celery_app(_app(), SETTINGS)
    assert celery.tasks["servey_faas.add"](params={"a": 2}) == 3
    assert celery.tasks["servey_faas.heartbeat"]() == {"note": "ok"}
    assert celery.tasks["servey_faas.async_heartbeat"](params={}) == "async ok"
    with pytest.raises(ValidationError):
        celery.tasks["servey_faas.add"](params={"a": "two"})


def test_json_only_and_results_off_without_a_backend() -> None:
    celery = create_celery_app(_app(), SETTINGS)
    assert celery.conf.accept_content == ["json"]
    assert celery.conf.task_serializer == "json"
    assert celery.conf.task_ignore_result is True
    with_backend = create_celery_app(_app(), CelerySettings(SETTINGS.broker_url, "redis://127.0.0.1:1/2"))
    assert with_backend.conf.task_ignore_result is False


def test_beat_lock_key_defaults_to_the_actions_module() -> None:
    assert beat_lock_key(_app(), SETTINGS) == "servey_faas:celery-beat:my_actions"
    assert beat_lock_key(_app(), CelerySettings(SETTINGS.broker_url, beat_lock_key="mine")) == "mine"


def test_no_broker_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="CELERY_BROKER"):
        create_celery_app(_app(), CelerySettings())
