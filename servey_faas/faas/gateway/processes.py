"""Functions as local processes: the local gateway's stand-in for the provider and of-watchdog.

For each replica of a deployed function the :class:`Supervisor` does what the watchdog does in
``mode=http`` (``docs/openfaas.md#process-model``): it starts ``envProcess`` (the ``fprocess`` command line, split
on single spaces, no shell) in the function's build context, with ``upstream_url`` pointing at a
free loopback port, waits until ``GET /_/ready`` answers 200 (probed every 0.05 s, each probe
bounded to 2 s), and hands out ready replicas round robin: a replica counts in ``availableReplicas``
and takes traffic only from then on, as a pod joins its Service's endpoints once its readiness probe
passes. A replica that exits is started again (after 0.5 s, doubling up to 30 s), as a pod would
be; one not ready within ``ready_timeout`` is logged (``was not ready in time``), stopped and
started again the same way.

The environment of a replica: the gateway's own environment (the image ``ENV`` of a container),
then the deployment's ``envVars``, then ``fprocess``, ``mode=http``, ``upstream_url``,
``OPENFAAS_NAME``, ``OPENFAAS_NAMESPACE``, ``secret_mount_path`` and ``PYTHONUNBUFFERED=1``.

**Interpreter.** A supervisor given ``envs_dir`` prepares each function's Python environment
before its first replica starts (:mod:`~.pyenv`): the gateway's own interpreter when the build
context's requirements are already met there, else a virtual environment built once per set of
requirements under ``envs_dir`` and reused. Either replaces a leading ``python`` or ``python3`` of
``envProcess``. When the environment cannot be built (``pip install`` fails), the reason is in the
function's logs (``/system/logs``) and its replicas are not started: the deployment stays listed
with ``availableReplicas`` 0, as a Kubernetes deployment whose image cannot be pulled; an update
(PUT) or a gateway restart tries again. Without ``envs_dir`` every function runs with ``python``.

**No orphans.** Each replica runs in its own process group (``start_new_session``), and is
stopped with SIGTERM to the group, then SIGKILL after ``stop_timeout`` seconds. On Linux each
replica also gets ``PR_SET_PDEATHSIG`` = SIGKILL, so it dies with the gateway even when the
gateway itself is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import httpx

from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.gateway.logs import LogBook
from servey_faas.faas.gateway.pyenv import EnvironmentBuildError, PythonEnvironments
from servey_faas.faas.wire import READY_PATH

#: ``fprocess`` when a deployment has no ``envProcess``: the python3-http template's
#: (``docs/openfaas.md#the-python3-http-template``).
DEFAULT_FPROCESS = "python index.py"
_PYTHON_NAMES = frozenset({"python", "python3"})
_PR_SET_PDEATHSIG = 1
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 30.0
#: Seconds between two readiness probes of a starting replica, and the bound on one probe.
_PROBE_INTERVAL, _PROBE_TIMEOUT = 0.05, 2.0


def context_dir(image: str) -> Path:
    """The build-context folder a ``file://`` image URI names (what ``--builder local`` deploys).

    :raises ValueError: when ``image`` is not a ``file://`` URI of an existing folder.
    """
    parts = urlsplit(image)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"image {image!r} is not a build context: the local gateway runs file:// folders "
            "(deploy with --builder local)"
        )
    folder = Path(unquote(parts.path))
    if not folder.is_dir():
        raise ValueError(f"image {image!r}: the build context {folder} is not a folder")
    return folder


def command_line(env_process: str, python: str = sys.executable) -> list[str]:
    """``env_process`` (default :data:`DEFAULT_FPROCESS`) split on single spaces as the watchdog
    splits ``fprocess`` (``docs/openfaas.md#process-model``; empty pieces dropped), a leading ``python`` or
    ``python3`` replaced by ``python``.

    :raises ValueError: when nothing is left to run.
    """
    argv = [piece for piece in (env_process or DEFAULT_FPROCESS).split(" ") if piece]
    if not argv:
        raise ValueError("envProcess is empty")
    if argv[0] in _PYTHON_NAMES:
        argv[0] = python
    return argv


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` setting ``PR_SET_PDEATHSIG`` to SIGKILL (Linux only; ``None`` elsewhere).
    libc is loaded here, in the parent, so the child only makes the one system call."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return preexec


def terminate_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop the process group led by ``process``: SIGTERM, then SIGKILL when the leader has not
    exited after ``timeout`` seconds; the group is SIGKILLed in any case so no member outlives it.
    Blocks until the leader is reaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Replica:
    """One running process of a function: its ``instance`` name (as a pod name), its
    ``process`` and the ``url`` of its upstream server; ``ready`` once ``/_/ready`` said 200."""

    instance: str
    process: subprocess.Popen[bytes]
    url: str
    readers: list[threading.Thread] = field(default_factory=list)
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class _Slot:
    """One replica position of a function, kept running by its task."""

    replica: Replica | None = None
    task: asyncio.Task[None] | None = None


class FunctionReplicas:
    """The replicas of one function: the slots the supervisor keeps running and the round-robin
    turn over the ready ones."""

    def __init__(self, spec: FunctionDeployment, mount: Path) -> None:
        self.spec = spec
        self.mount = mount
        self.slots: list[_Slot] = []
        self._turn = itertools.count()

    def ready(self) -> list[Replica]:
        """The replicas that are ready and running."""
        return [s.replica for s in self.slots if s.replica is not None and s.replica.ready and s.replica.alive()]

    def pick(self) -> Replica | None:
        """The next ready replica, round robin; ``None`` when none is ready."""
        ready = self.ready()
        return ready[next(self._turn) % len(ready)] if ready else None


class Supervisor:
    """Starts, restarts, scales and stops the replicas of every deployed function (see the module
    docstring). Use from one event loop; :meth:`kill_all` may be called from any thread.

    ``logs`` receives every line the replicas print. ``ready_timeout`` (seconds) bounds the wait
    for ``/_/ready`` before a replica is restarted; ``stop_timeout`` (seconds) the wait between
    SIGTERM and SIGKILL. ``python`` replaces a leading ``python`` of ``envProcess`` and makes the
    virtual environments; ``envs_dir`` (``None``: none, every function runs with ``python``) is
    where they are kept (see the module docstring); ``environ`` (default ``os.environ``) is the
    base environment of the replicas.
    """

    def __init__(
        self,
        logs: LogBook,
        *,
        ready_timeout: float = 60.0,
        stop_timeout: float = 5.0,
        python: str = sys.executable,
        envs_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.logs = logs
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.python = python
        self._environ = dict(os.environ if environ is None else environ)
        self._functions: dict[tuple[str, str], FunctionReplicas] = {}
        #: Replacements started by an update and not yet ready; the old replicas serve meanwhile.
        self._incoming: dict[tuple[str, str], FunctionReplicas] = {}
        self._rollouts: set[asyncio.Task[None]] = set()
        self._live: dict[int, Replica] = {}
        self._live_lock = threading.Lock()
        self._preexec = _die_with_parent()
        self.environments = (
            None if envs_dir is None else PythonEnvironments(envs_dir, base_python=python, preexec=self._preexec)
        )

    # --- queries -------------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> FunctionReplicas | None:
        return self._functions.get((namespace, name))

    def available(self, namespace: str, name: str) -> int:
        """How many replicas of the function are ready (``availableReplicas``, ``docs/openfaas.md#functionstatus``)."""
        found = self._functions.get((namespace, name))
        return 0 if found is None else len(found.ready())

    def pids(self) -> list[int]:
        """The pids of every replica process still running or not yet reaped."""
        with self._live_lock:
            return sorted(self._live)

    # --- changes -------------------------------------------------------------------------------

    async def deploy(self, spec: FunctionDeployment, mount: Path, replicas: int) -> None:
        """Run ``replicas`` replicas of ``spec`` (namespace filled in), its secrets mounted at
        ``mount``. Returns without waiting for readiness.

        A function already running is replaced by a rolling update: the new replicas start while
        the old ones keep serving, and the old ones stop once a new one is ready (or the new ones
        had ``ready_timeout`` seconds), so an update never leaves the function without a replica."""
        if self.environments is not None:
            self.environments.reopen()
        key = (spec.namespace, spec.service)
        fresh = FunctionReplicas(spec, mount)
        self._resize(fresh, replicas)
        await self._drop_incoming(key)
        old = self._functions.get(key)
        if old is None:
            self._functions[key] = fresh
            return
        self._incoming[key] = fresh
        rollout = asyncio.get_running_loop().create_task(self._roll(key, old, fresh), name=f"rollout:{spec.service}")
        self._rollouts.add(rollout)
        rollout.add_done_callback(self._rollouts.discard)

    async def _roll(self, key: tuple[str, str], old: FunctionReplicas, fresh: FunctionReplicas) -> None:
        deadline = asyncio.get_running_loop().time() + self.ready_timeout
        while not fresh.ready() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if self._incoming.get(key) is not fresh:  # replaced or removed meanwhile: not ours any more
            return
        del self._incoming[key]
        if self._functions.get(key) is old:
            self._functions[key] = fresh
            await self._stop_slots(old.slots)
        else:
            await self._stop_slots(fresh.slots)

    async def _drop_incoming(self, key: tuple[str, str]) -> None:
        pending = self._incoming.pop(key, None)
        if pending is not None:
            await self._stop_slots(pending.slots)

    async def scale(self, namespace: str, name: str, replicas: int) -> None:
        """Run ``replicas`` replicas of a running function: start new slots, or stop the last ones."""
        found = self._functions.get((namespace, name))
        if found is None:
            return
        extra = found.slots[replicas:]
        del found.slots[replicas:]
        self._resize(found, replicas)
        await self._stop_slots(extra)

    async def remove(self, namespace: str, name: str) -> None:
        """Stop every replica of the function and forget it."""
        await self._drop_incoming((namespace, name))
        found = self._functions.pop((namespace, name), None)
        if found is not None:
            await self._stop_slots(found.slots)

    async def close(self) -> None:
        """Stop every replica of every function."""
        for rollout in list(self._rollouts):
            rollout.cancel()
        functions = [*self._functions.values(), *self._incoming.values()]
        self._functions.clear()
        self._incoming.clear()
        await self._stop_slots([slot for f in functions for slot in f.slots])
        await asyncio.to_thread(self.kill_all)

    def kill_all(self) -> None:
        """Stop every replica process still alive (SIGTERM, then SIGKILL), from any thread; the
        last line of defence of the command line's shutdown."""
        if self.environments is not None:
            self.environments.close()
        with self._live_lock:
            replicas = list(self._live.values())
        for replica in replicas:
            terminate_group(replica.process, self.stop_timeout)
            self._forget(replica)

    def _resize(self, function: FunctionReplicas, replicas: int) -> None:
        while len(function.slots) < replicas:
            slot = _Slot()
            slot.task = asyncio.get_running_loop().create_task(
                self._keep_running(function, slot), name=f"replica:{function.spec.service}"
            )
            function.slots.append(slot)

    async def _stop_slots(self, slots: Sequence[_Slot]) -> None:
        tasks = [s.task for s in slots if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- one replica ---------------------------------------------------------------------------

    async def _keep_running(self, function: FunctionReplicas, slot: _Slot) -> None:
        backoff = _FIRST_BACKOFF
        spec = function.spec
        try:
            python = await self._python(spec)
            if python is None:
                return
            while True:
                try:
                    slot.replica = self._launch(function, python)
                except (OSError, ValueError) as e:
                    self.logs.append(spec.service, spec.namespace, "", f"cannot start {spec.service}: {e}\n")
                else:
                    replica = slot.replica
                    if await self._wait_ready(replica):
                        backoff = _FIRST_BACKOFF
                        while replica.alive():
                            await asyncio.sleep(0.2)
                    code = replica.process.poll()
                    reason = f"exited with status {code}" if code is not None else "was not ready in time"
                    self.logs.append(
                        spec.service,
                        spec.namespace,
                        replica.instance,
                        f"replica {replica.instance} {reason}; restarting in {backoff:g}s\n",
                    )
                    await self._stop_replica(replica)
                    slot.replica = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
        finally:
            if slot.replica is not None:
                await asyncio.shield(self._stop_replica(slot.replica))

    async def _python(self, spec: FunctionDeployment) -> str | None:
        """The interpreter of ``spec``'s replicas (see the module docstring); ``None`` (logged) when
        its environment cannot be prepared."""
        if self.environments is None:
            return self.python

        def log(line: str) -> None:
            self.logs.append(spec.service, spec.namespace, "", line)

        try:
            context = context_dir(spec.image)
            # nothing to build (the usual case): no thread hop, the replica starts at once
            ready = self.environments.ready_python(context)
            if ready is not None:
                return ready
            return await asyncio.to_thread(self.environments.python_for, context, log)
        except (EnvironmentBuildError, OSError, ValueError) as e:
            log(
                f"cannot prepare the Python environment of {spec.service}: {e}; not started "
                "(fix its requirements, then update the function)\n"
            )
            return None

    def _launch(self, function: FunctionReplicas, python: str) -> Replica:
        spec = function.spec
        argv = command_line(spec.env_process, python)
        cwd = context_dir(spec.image)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        instance = f"{spec.service}-{uuid.uuid4().hex[:10]}"
        env = {
            **self._environ,
            **spec.env_vars,
            "fprocess": spec.env_process or DEFAULT_FPROCESS,
            "mode": "http",
            "upstream_url": url,
            "OPENFAAS_NAME": spec.service,
            "OPENFAAS_NAMESPACE": spec.namespace,
            "secret_mount_path": str(function.mount),
            "PYTHONUNBUFFERED": "1",
        }
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=self._preexec,
        )
        replica = Replica(instance, process, url)
        with self._live_lock:
            self._live[process.pid] = replica
        for pipe in (process.stdout, process.stderr):
            assert pipe is not None
            reader = threading.Thread(
                target=self._read_lines, args=(pipe, spec, instance), daemon=True, name=f"log:{instance}"
            )
            reader.start()
            replica.readers.append(reader)
        return replica

    def _read_lines(self, pipe: IO[bytes], spec: FunctionDeployment, instance: str) -> None:
        with pipe:
            for line in iter(pipe.readline, b""):
                self.logs.append(spec.service, spec.namespace, instance, line.decode("utf-8", "replace"))

    async def _wait_ready(self, replica: Replica) -> bool:
        """Poll ``GET /_/ready`` until 200 (``True``), the process exits or ``ready_timeout`` passes."""
        deadline = time.monotonic() + self.ready_timeout
        # trust_env=False: a loopback probe never goes through the user's HTTP_PROXY / ALL_PROXY
        async with httpx.AsyncClient(base_url=replica.url, timeout=_PROBE_TIMEOUT, trust_env=False) as client:
            while replica.alive() and time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(READY_PATH)).status_code == 200:
                        replica.ready = True
                        return True
                await asyncio.sleep(_PROBE_INTERVAL)
        return False

    async def _stop_replica(self, replica: Replica) -> None:
        replica.ready = False
        await asyncio.to_thread(terminate_group, replica.process, self.stop_timeout)
        for reader in replica.readers:
            await asyncio.to_thread(reader.join, 5.0)
        self._forget(replica)

    def _forget(self, replica: Replica) -> None:
        with self._live_lock:
            self._live.pop(replica.pid, None)
