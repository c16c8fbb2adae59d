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
    """A lease in Redis, held through redis-py's own :class:`redis.lock.Lock` (a token set with
    ``NX`` and a time-to-live; renewal and release compare the token in a Lua script, so a holder
    whose lease expired cannot renew or delete its successor's).

    ``ttl`` is in seconds; the holder must call :meth:`try_acquire` again (which renews the lease,
    ``Lock.reacquire``) more often than that.

    Connection errors propagate as ``redis.exceptions.RedisError``; callers treat them as "not
    held" (a holder that cannot renew must stop firing: after ``ttl`` another may take over).
    """

    def __init__(self, client: redis.Redis, key: str, ttl: float = 15.0) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, not {ttl!r}")
        from redis.lock import Lock

        self.client = client
        self.key = key
        self.ttl = ttl
        # thread_local=False: the beat may renew from another thread than the one that acquired
        self._lock = Lock(client, key, timeout=ttl, blocking=False, thread_local=False)
        self.held = False

    @property
    def token(self) -> bytes | None:
        """The value this object's lease holds in Redis (None before it first took it)."""
        token: bytes | None = self._lock.local.token
        return token

    def try_acquire(self) -> bool:
        """Take the lease, or renew it when held; True when this object holds it afterwards."""
        from redis.exceptions import LockError

        if self.held:
            try:
                self._lock.reacquire()
                return True
            except LockError:  # expired, or taken over meanwhile
                self.held = False
        self.held = bool(self._lock.acquire(blocking=False))
        return self.held

    def release(self) -> None:
        """Give the lease up when held (ignores a lease already expired or taken over)."""
        from redis.exceptions import LockError

        if self.held:
            self.held = False
            try:
                self._lock.release()
            except LockError:
                pass

    def __repr__(self) -> str:
        return f"RedisLock({self.key!r}, held={self.held})"
