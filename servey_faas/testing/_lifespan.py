"""Driving an ASGI app's lifespan (startup and shutdown) from a test client.

Follows the ASGI "Lifespan Protocol" (asgiref specs, lifespan 2.0): the app is called once with
a ``lifespan`` scope, receives ``lifespan.startup`` and answers ``lifespan.startup.complete`` or
``lifespan.startup.failed``; later it receives ``lifespan.shutdown`` and answers
``lifespan.shutdown.complete`` or ``lifespan.shutdown.failed``. The ``state`` dict of the scope
is what the app fills at startup; servers copy it into every request scope.

Why not a library: Starlette's ``TestClient`` drives the lifespan for synchronous clients only,
and asgi-lifespan 2.1's ``LifespanManager`` ignores ``lifespan.startup.failed``, waits for its
timeout when an app returns without answering (an app without lifespan support, which uvicorn's
``lifespan="auto"`` serves anyway), and hands every request the same ``state`` dict instead of a
copy. This module does what uvicorn does in those three cases, for both clients.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.types import ASGIApp, Message

from servey_faas.errors import ServeyFaasError


class LifespanError(ServeyFaasError):
    """The app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed`` (carrying the
    app's message), or sent a message the lifespan protocol does not allow there."""


class Lifespan:
    """The lifespan of one app, run as a task: :meth:`run` in a task group, then :meth:`startup`
    and :meth:`shutdown` from the same event loop.

    Exceptions the app raises during startup or shutdown propagate unchanged from :meth:`startup`
    / :meth:`shutdown` (as Starlette's TestClient does); a ``failed`` answer without an exception
    raises :class:`LifespanError`. An app that returns from its lifespan call without answering
    does not support the protocol: like uvicorn, the client then goes on without a lifespan.
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self._error: Exception | None = None
        self._to_app: MemoryObjectSendStream[Message] | None = None
        self._from_app: MemoryObjectReceiveStream[Message] | None = None
        self._done: anyio.Event | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Call the app with a ``lifespan`` scope until it returns; report ready at once."""
        to_app, app_receive = anyio.create_memory_object_stream[Message](math.inf)
        app_send, from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._to_app, self._from_app, self._done = to_app, from_app, anyio.Event()
        scope: dict[str, Any] = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        task_status.started()
        try:
            async with app_receive, app_send:
                await self.app(scope, app_receive.receive, app_send.send)
        except Exception as e:
            self._error = e
        finally:
            self._done.set()

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the answer.

        :raises LifespanError: for ``lifespan.startup.failed``. Exceptions raised by the app propagate.
        """
        await self._exchange("startup")

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown``, wait for the answer and for the app's lifespan call to return.

        :raises LifespanError: for ``lifespan.shutdown.failed``. Exceptions raised by the app propagate.
        """
        assert self._done is not None, "run() must have started"
        try:
            if not self._done.is_set():  # else the app has no lifespan (it returned at startup)
                await self._exchange("shutdown")
            error = await self._wait_done()
            if error is not None:
                raise error
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close this side's streams (the app then sees its ``receive`` end)."""
        for stream in (self._to_app, self._from_app):
            if stream is not None:
                await stream.aclose()

    async def _exchange(self, phase: str) -> None:
        assert self._to_app is not None and self._from_app is not None, "run() must have started"
        answer: Message | None
        try:
            await self._to_app.send({"type": f"lifespan.{phase}"})
            answer = await self._from_app.receive()
        except (anyio.BrokenResourceError, anyio.EndOfStream):
            answer = None
        if answer is None:  # the app returned without answering: it has no lifespan
            error = await self._wait_done()
            if error is not None:
                raise error
            return
        kind = answer.get("type")
        if kind == f"lifespan.{phase}.complete":
            return
        # Per the spec the server stops here: end the app's receive, then report what it raised.
        await self._to_app.aclose()
        error = await self._wait_done()
        if error is not None and not isinstance(error, anyio.EndOfStream):
            raise error
        if kind == f"lifespan.{phase}.failed":
            raise LifespanError(f"lifespan {phase} failed: {answer.get('message', '')}")
        raise LifespanError(f"unexpected lifespan message {kind!r} while waiting for lifespan.{phase}.complete")

    async def _wait_done(self) -> Exception | None:
        """Wait for the app's lifespan call to return; what it raised, if anything."""
        assert self._done is not None
        await self._done.wait()
        error, self._error = self._error, None
        return error
