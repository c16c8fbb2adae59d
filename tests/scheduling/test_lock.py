"""Single-scheduler locks: flock on a project lock file, and a lease in a real Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from servey_faas.scheduling import ProjectLock, RedisLock
from servey_faas.scheduling.lock import project_lock_path
from tests.scheduling.conftest import RedisServer, wait_for


def test_one_holder_per_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    first, second = ProjectLock(project, lock_dir=tmp_path), ProjectLock(project, lock_dir=tmp_path)
    assert first.try_acquire()
    assert first.try_acquire()  # holding it again is fine
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_projects_are_keyed_on_their_resolved_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert project_lock_path(tmp_path / "a", tmp_path) == project_lock_path(tmp_path / "a" / ".." / "a", tmp_path)
    one, two = ProjectLock(tmp_path / "a", lock_dir=tmp_path), ProjectLock(tmp_path / "b", lock_dir=tmp_path)
    assert one.try_acquire() and two.try_acquire()
    one.release()
    two.release()


def test_the_lock_is_freed_when_its_holder_dies(tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from servey_faas.scheduling import ProjectLock;"
        f"lock = ProjectLock(Path({str(tmp_path)!r}), lock_dir=Path({str(tmp_path)!r}));"
        "assert lock.try_acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = ProjectLock(tmp_path, lock_dir=tmp_path)
        assert not mine.try_acquire()
        holder.kill()  # no clean-up runs: the kernel drops the lock
        holder.wait(timeout=30)
        assert mine.try_acquire()
        assert mine.path.read_text().strip().isdigit()
        mine.release()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()


def test_redis_lease_has_one_holder_and_is_renewed_and_released(redis_server: RedisServer) -> None:
    client = redis_server.client(5)
    client.delete("tests:lease")
    a, b = RedisLock(client, "tests:lease", ttl=30), RedisLock(client, "tests:lease", ttl=30)
    assert a.try_acquire()
    assert not b.try_acquire()
    assert a.try_acquire()  # renewal
    assert client.pttl("tests:lease") > 0
    a.release()
    assert b.try_acquire()
    a.release()  # not the holder any more: must not delete b's lease
    assert client.get("tests:lease") == b.token
    b.release()
    assert client.get("tests:lease") is None
    client.close()


def test_an_expired_redis_lease_is_taken_over_and_not_renewed_by_its_old_holder(redis_server: RedisServer) -> None:
    client = redis_server.client(5)
    client.delete("tests:expiring")
    old, new = RedisLock(client, "tests:expiring", ttl=0.2), RedisLock(client, "tests:expiring", ttl=30)
    assert old.try_acquire()
    wait_for(new.try_acquire, "the lease to expire and be taken over", timeout=30)
    assert not old.try_acquire()
    assert not old.held
    new.release()
    client.close()


def test_redis_lease_ttl_must_be_positive(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError):
        RedisLock(redis_server.client(5), "k", ttl=0)
