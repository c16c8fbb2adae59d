"""Celery settings, read once from the environment into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from servey_faas.errors import ConfigurationError

#: The environment variables read by :meth:`CelerySettings.load`, as ``(name, what)`` rows.
CELERY_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("CELERY_BROKER", "Broker URL, e.g. redis://127.0.0.1:6379/0. When set, Celery runs the schedules."),
    ("CELERY_RESULT_BACKEND", "Result backend URL, e.g. redis://127.0.0.1:6379/1 (optional; results are dropped)."),
    ("CELERY_BEAT_LOCK_KEY", "Redis key of the single-beat lock (default servey_faas:celery-beat:<actions module>)."),
)

#: What to tell a user whose environment lacks Celery.
CELERY_MISSING = "CELERY_BROKER is set but Celery is not installed: pip install 'celery[redis]>=5.4'"


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
