"""The local gateway's durable async queue: accepted ``/async-function`` requests kept in SQLite
(``queue.sqlite3`` in the state folder) until the queue-worker has run them and POSTed their
callback, so accepted work survives a gateway restart (CE keeps it in NATS Streaming,
``docs/openfaas.md#enqueueing-an-async-call``, ``docs/openfaas.md#the-ce-queue-worker``).

A job is *queued*, then *running* once a worker claims it, and deleted when done. Jobs that were
running when the gateway stopped are queued again at start (:meth:`AsyncQueue.recover`), as NATS
Streaming redelivers a message that was never acked: delivery is at least once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL DEFAULT 'queued',
    call_id TEXT NOT NULL,
    function TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    callback_url TEXT NOT NULL,
    enqueued_ns INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class QueuedRequest:
    """One accepted async request, as CE's ``QueueRequest`` carries it (``docs/openfaas.md#enqueueing-an-async-call``):
    ``function`` exactly as written in the URL (``name`` or ``name.ns``), ``path`` the sub-path
    (``""`` when none), ``query`` the raw query without ``?``, every request ``headers`` as
    ``(name, value)`` pairs, the raw ``body``, ``callback_url`` (``""``: none). ``id`` is the
    queue's (0 before it is stored); ``enqueued_ns`` Unix nanoseconds."""

    call_id: str
    function: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    callback_url: str
    enqueued_ns: int = 0
    id: int = 0


class AsyncQueue:
    """A FIFO of :class:`QueuedRequest` in the SQLite file ``path`` (created; ``":memory:"``: kept
    in memory, for this object's life). Thread-safe; each method is one short transaction,
    committed before it returns."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, request: QueuedRequest) -> int:
        """Store ``request`` (durably) and return its id."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO jobs (call_id, function, path, query, headers, body, callback_url, enqueued_ns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.call_id,
                    request.function,
                    request.path,
                    request.query,
                    json.dumps(request.headers),
                    request.body,
                    request.callback_url,
                    request.enqueued_ns or time.time_ns(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def claim(self) -> QueuedRequest | None:
        """The oldest queued job, now marked running; ``None`` when none is queued."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT id, call_id, function, path, query, headers, body, callback_url, enqueued_ns "
                    "FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
                ).fetchone()
                if row is not None:
                    self._db.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (row[0],))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is None:
            return None
        job_id, call_id, function, path, query, headers, body, callback_url, enqueued_ns = row
        pairs = tuple((str(k), str(v)) for k, v in json.loads(headers))
        return QueuedRequest(call_id, function, path, query, pairs, bytes(body), callback_url, enqueued_ns, job_id)

    def done(self, job_id: int) -> None:
        """Forget a finished job (its callback, if any, was attempted)."""
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def recover(self) -> int:
        """Queue again the jobs left running by a stopped gateway; returns how many."""
        with self._lock:
            return self._db.execute("UPDATE jobs SET state = 'queued' WHERE state = 'running'").rowcount

    def pending(self) -> int:
        """How many jobs are queued or running."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
