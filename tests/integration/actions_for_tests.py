"""Test-only actions: ones that block until the test lets them go, ones that fail, one that mixes
path and body params.

Actions that need a handle from the test (an event, a queue) are made by factory functions, so
each test gets fresh ones and no state lives at module level.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servey_faas import WEB_GET, WEB_POST, WebTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry

#: Seconds an action waits for the test before giving up (a safety net so a failing test never
#: leaves a worker thread blocked; never reached when the test passes).
GATE_TIMEOUT = 30.0


def app_with(*fns: Callable[..., Any]) -> ServeyApp:
    """A :class:`ServeyApp` over the given ``@action`` functions."""
    actions = []
    for fn in fns:
        found = get_action(fn)
        if found is None:
            raise TypeError(f"{fn!r} is not an @action")
        actions.append(found)
    return ServeyApp.from_registry(ActionRegistry(actions))


@dataclass
class SyncGate:
    """A sync action that blocks its worker thread until :attr:`gate` is set.

    Each call puts its ``label`` on :attr:`arrivals` when it starts blocking.
    """

    gate: threading.Event
    arrivals: queue.Queue[str]
    fn: Callable[..., Any]


def sync_gate() -> SyncGate:
    """A fresh :class:`SyncGate` (its action is ``wait_for_gate``, ``GET /actions/wait-for-gate``)."""
    gate = threading.Event()
    arrivals: queue.Queue[str] = queue.Queue()

    @action(triggers=(WEB_GET,))
    def wait_for_gate(label: str) -> str:
        """Block this worker thread until the test opens the gate."""
        arrivals.put(label)
        if not gate.wait(GATE_TIMEOUT):
            raise TimeoutError(f"{label}: the gate was never opened")
        return f"{label} passed"

    return SyncGate(gate, arrivals, wait_for_gate)


@dataclass
class AsyncGate:
    """An async action that awaits an ``asyncio.Event`` which only another action can set.

    ``await_release`` (``GET /actions/await-release``) puts its ``label`` on :attr:`arrivals`
    and awaits; ``release`` (``POST /actions/release``) sets the event, on the server's loop.
    """

    arrivals: queue.Queue[str]
    await_release: Callable[..., Any]
    release: Callable[..., Any]


def async_gate() -> AsyncGate:
    """A fresh :class:`AsyncGate`."""
    released = asyncio.Event()  # bound to the server's event loop when first awaited
    arrivals: queue.Queue[str] = queue.Queue()

    @action(triggers=(WEB_GET,))
    async def await_release(label: str) -> str:
        """Await the release event on the event loop."""
        arrivals.put(label)
        await asyncio.wait_for(released.wait(), GATE_TIMEOUT)
        return f"{label} released"

    @action(triggers=(WEB_POST,))
    async def release() -> bool:
        """Set the release event (runs on the server's event loop, as the event requires)."""
        released.set()
        return True

    return AsyncGate(arrivals, await_release, release)


@action(triggers=(WEB_GET,))
def explode(reason: str) -> str:
    """Always raise; the reason ends up in the exception message (and must stay in the log)."""
    raise RuntimeError(f"secret failure detail: {reason}")


@action(triggers=(WEB_GET,))
async def explode_async(reason: str) -> str:
    """The async twin of :func:`explode`."""
    await asyncio.sleep(0)
    raise RuntimeError(f"secret failure detail: {reason}")


@action(triggers=(WebTrigger("PUT", "/items/{item_id}"),))
def rename_item(item_id: int, name: str, tags: list[str] | None = None) -> dict[str, Any]:
    """A PUT with a path parameter and JSON body params."""
    return {"item_id": item_id, "name": name, "tags": tags or []}
