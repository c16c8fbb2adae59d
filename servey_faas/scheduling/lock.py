"""Single-scheduler locks: exactly one process runs the schedules.

* :class:`ProjectLock` — for the dev server: an exclusive ``fcntl.flock`` on a lock file keyed on
  the project folder. Every uvicorn worker (``--workers N``) and every ``--reload`` restart tries
  it; the process holding it runs the schedules. The kernel releases it when the holder closes it
  or exits, however it exits, so a crashed holder never leaves a stale lock.
* :class:`RedisLock` — for Celery beat: a Redis key set with ``NX`` and a time-to-live, renewed
  while held. One beat per deployment fires; others wait as standbys and take over when the
  holder stops renewing (crash, network loss) after at most the time-to-live.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from servey_faas.errors import ConfigurationError

if TYPE_CHECKING:
    import redis


def project_lock_path(project_dir: Path, lock_dir: Path | None = None, purpose: str = "schedules") -> Path:
    """``<lock_dir>/servey_faas-<uid>-<purpose>-<sha256 of the resolved project folder, 16 hex>.lock``.

    ``lock_dir`` defaults to the system temporary folder (``tempfile.gettempdir()``); the user id
    keeps two users' servers apart.
    """
    digest = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) if lock_dir is None else lock_dir
    return folder / f"servey_faas-{os.getuid()}-{purpose}-{digest}.lock"


class ProjectLock:
    """A non-blocking exclusive ``flock`` on :func:`project_lock_path`.

    Locks belong to the open file: two :class:`ProjectLock` on the same path conflict even in one
    process. The lock file itself is left in place (removing it would race with a process
    opening it); it holds the holder's pid, for people reading it.

    :raises ConfigurationError: from :meth:`try_acquire` when the lock file cannot be opened.
    """

    def __init__(self, project_dir: Path, *, lock_dir: Path | None = None, purpose: str = "schedules") -> None:
        self.path = project_lock_path(project_dir, lock_dir, purpose)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this object holds it (again) afterwards."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise ConfigurationError(f"cannot open the scheduler lock file {self.path}: {e.strerror or e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"ProjectLock({str(self.path)!r}, held={self.held})"


class RedisLock:
    """A lease in Redis: ``SET key token NX PX ttl``; renewed by the holder, released on close.

    ``ttl`` is in seconds; the holder must call :meth:`try_acquire` again (which renews the lease)
    more often than that. Renewal and release only touch the key while it still holds this
    object's token (a Lua compare-and-set), so a holder whose lease expired cannot delete its
    successor's.

    Connection errors propagate as ``redis.exceptions.RedisError``; callers treat them as "not
    held" (a holder that cannot renew must stop firing: after ``ttl`` another may take over).
    """

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, client: redis.Redis, key: str, ttl: float = 15.0) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, not {ttl!r}")
        self.client = client
        self.key = key
        self.ttl = ttl
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lease, or renew it when held; True when this object holds it afterwards."""
        ttl_ms = max(1, int(self.ttl * 1000))
        if self.held and int(self.client.eval(self._RENEW, 1, self.key, self.token, ttl_ms)):
            return True
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=ttl_ms))
        return self.held

    def release(self) -> None:
        """Give the lease up when held (ignores a lease already expired or taken over)."""
        if self.held:
            self.held = False
            self.client.eval(self._RELEASE, 1, self.key, self.token)

    def __repr__(self) -> str:
        return f"RedisLock({self.key!r}, held={self.held})"
