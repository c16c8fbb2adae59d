"""Celery settings: the environment they come from, and what to tell a user who lacks Celery.

:class:`CelerySettings` itself lives in :mod:`servey_faas.settings` with the other settings.
"""

from __future__ import annotations

from servey_faas.settings import CelerySettings

__all__ = ["CELERY_ENVIRONMENT", "CELERY_MISSING", "CelerySettings"]

#: The environment variables read by :meth:`CelerySettings.load`, as ``(name, what)`` rows.
CELERY_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("CELERY_BROKER", "Broker URL, e.g. redis://127.0.0.1:6379/0. When set, Celery runs the schedules."),
    ("CELERY_RESULT_BACKEND", "Result backend URL, e.g. redis://127.0.0.1:6379/1 (optional; results are dropped)."),
    ("CELERY_BEAT_LOCK_KEY", "Redis key of the single-beat lock (default servey_faas:celery-beat:<actions module>)."),
)

#: What to tell a user whose environment lacks Celery.
CELERY_MISSING = "CELERY_BROKER is set but Celery is not installed: pip install 'celery[redis]>=5.4'"
