"""The Python environment a function of the local gateway runs in, prepared from its build context.

A build context written by ``--run=build`` (:mod:`servey_faas.faas.deploy.packager`) holds
``requirements.txt`` (servey_faas's runtime dependencies; servey_faas itself is copied into the
context root, where ``index.py`` imports it from) and ``function/requirements.txt`` (the app's own
dependencies). :meth:`PythonEnvironments.python_for` reads both (whichever exist) and answers the
interpreter to run ``envProcess`` with:

* **the gateway's own interpreter** (``sys.executable``) when every requirement is already met
  there: a requirement whose environment marker (PEP 508) is false is met; otherwise the installed
  distribution (``importlib.metadata``) must exist, its version must match the specifier
  (pre-releases allowed), and the requirements its requested extras add must be met in turn;
* otherwise **a virtual environment** under ``<state-dir>/envs/<key>/``, where ``key`` is the
  SHA-256 (hex) of the sorted, de-duplicated, normalised requirement lines (``str`` of
  ``packaging.requirements.Requirement``; a line that is not a requirement, such as ``--index-url``
  or ``-r``, is kept as written and always needs a virtual environment). It is made with
  ``python -m venv`` and ``python -m pip install -r FILE`` of each file (run in the build context,
  so relative paths in the files work), pip's output going to the function's logs line by line.
  The file ``.servey-faas-ready`` is written in it only after every install succeeded: an
  environment without it (a build interrupted or failed) is deleted and built again; one with it is
  reused by every function with the same key, across gateway restarts.

Two functions needing the same environment never build it at once: a lock per key in this
process, and an exclusive ``flock`` on ``envs/<key>.lock`` across processes sharing the state
folder. The key does not include the interpreter's version: a state folder is meant for one
gateway installation.

A failed build raises :class:`EnvironmentBuildError`; see
:class:`~servey_faas.faas.gateway.processes.Supervisor` for what the deployment does then.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

#: The requirement files of a build context, relative to its root, in install order (see the packager).
REQUIREMENT_FILES = ("requirements.txt", "function/requirements.txt")
#: Written in a virtual environment once every install succeeded.
READY_MARKER = ".servey-faas-ready"


class EnvironmentBuildError(Exception):
    """A function's virtual environment could not be built (``venv`` or ``pip install`` failed);
    the message says which command failed and with what status."""


def requirement_lines(context: Path) -> list[str]:
    """The requirement lines of the build context ``context``: the lines of its
    :data:`REQUIREMENT_FILES` that exist, without comments (``#`` at the start or after a space),
    blank lines and line continuations joined."""
    lines: list[str] = []
    for name in REQUIREMENT_FILES:
        path = context / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8").replace("\\\n", "")
        for raw in text.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def normalised(line: str) -> str:
    """``line`` as ``packaging`` writes the requirement back, its name canonical (PEP 503:
    ``Tomli_W`` is ``tomli-w``), spacing and specifier order canonical; a line that is not a PEP 508
    requirement, stripped."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return line.strip()
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def environment_key(lines: Iterable[str]) -> str:
    """The SHA-256 (64 hex digits) of the sorted, de-duplicated, :func:`normalised` ``lines``."""
    text = "\n".join(sorted({normalised(line) for line in lines}))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _met(requirement: Requirement, extra: str, seen: set[str]) -> bool:
    marker = requirement.marker
    if marker is not None and not marker.evaluate({"extra": extra}):
        return True
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return False
    try:
        if not requirement.specifier.contains(Version(installed), prereleases=True):
            return False
    except InvalidVersion:
        return False
    for wanted in sorted(requirement.extras):
        key = f"{requirement.name.lower()}[{wanted}]"
        if key in seen:
            continue
        seen.add(key)
        for dependency in metadata.requires(requirement.name) or []:
            try:
                added = Requirement(dependency)
            except InvalidRequirement:
                return False
            # only what the extra adds: the distribution's own dependencies are installed with it
            if added.marker is None or added.marker.evaluate({"extra": ""}):
                continue
            if added.marker.evaluate({"extra": wanted}) and not _met(added, wanted, seen):
                return False
    return True


def satisfied(lines: Iterable[str]) -> bool:
    """True when every requirement line is met by the running interpreter (see the module
    docstring); False as soon as one is not, or a line is not a PEP 508 requirement."""
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            return False
        if not _met(requirement, "", set()):
            return False
    return True


class PythonEnvironments:
    """The virtual environments of the functions, under ``root`` (``<state-dir>/envs``).

    ``log(line)`` receives the build's progress and pip's output (one line each, with its
    newline); ``base_python`` makes the environments and is the answer when the requirements are
    met. ``preexec`` runs in the children before ``exec`` (the supervisor's die-with-the-gateway
    hook). Thread-safe; :meth:`python_for` blocks (call it from a worker thread)."""

    def __init__(
        self,
        root: Path,
        *,
        base_python: str = sys.executable,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.base_python = base_python
        self._preexec = preexec
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False

    def ready_python(self, context: Path) -> str | None:
        """The interpreter :meth:`python_for` would answer when nothing needs building (the
        requirements are met, or their environment is ready); ``None`` otherwise. Quick: reads the
        requirement files and the installed metadata only.

        :raises OSError: when the requirement files cannot be read.
        """
        lines = requirement_lines(context)
        if satisfied(lines):
            return self.base_python
        folder = self.root / environment_key(lines)
        return str(folder / "bin" / "python") if (folder / READY_MARKER).is_file() else None

    def python_for(self, context: Path, log: Callable[[str], None]) -> str:
        """The interpreter (a path) to run the function of build context ``context`` with:
        :attr:`base_python` when its requirements are met, else the ``bin/python`` of its virtual
        environment, built first when it is not ready.

        :raises EnvironmentBuildError: when ``python -m venv`` or ``pip install`` fails, or the
            environments were closed.
        :raises OSError: when the requirement files or the environment folder cannot be used.
        """
        lines = requirement_lines(context)
        if satisfied(lines):
            return self.base_python
        key = environment_key(lines)
        folder = self.root / key
        python = folder / "bin" / "python"
        with self._lock(key):
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / f"{key}.lock", "a+b") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    if (folder / READY_MARKER).is_file():
                        log(f"reusing the Python environment {folder}\n")
                        return str(python)
                    self._build(context, folder, log)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
        return str(python)

    def reopen(self) -> None:
        """Allow builds again after :meth:`close` (a gateway starting again)."""
        with self._guard:
            self._closed = False

    def close(self) -> None:
        """Stop every ``venv``/``pip`` process still running (SIGKILL to its process group); later
        builds fail until :meth:`reopen`. From any thread."""
        with self._guard:
            self._closed = True
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _build(self, context: Path, folder: Path, log: Callable[[str], None]) -> None:
        if folder.exists():
            log(f"removing the unfinished Python environment {folder}\n")
            shutil.rmtree(folder)
        log(f"building the Python environment {folder}\n")
        self._run([self.base_python, "-m", "venv", str(folder)], context, log)
        python = str(folder / "bin" / "python")
        for name in REQUIREMENT_FILES:
            if (context / name).is_file():
                self._run(
                    [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", name],
                    context,
                    log,
                )
        (folder / READY_MARKER).write_text("ok\n", encoding="utf-8")
        log(f"the Python environment {folder} is ready\n")

    def _run(self, argv: list[str], cwd: Path, log: Callable[[str], None]) -> None:
        shown = " ".join(argv)
        log(f"$ {shown}\n")
        environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
        environ["PYTHONUNBUFFERED"] = "1"
        with self._guard:
            if self._closed:
                raise EnvironmentBuildError(f"{shown}: the gateway is stopping")
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._preexec,
            )
            self._running.add(process)
        try:
            assert process.stdout is not None
            with process.stdout:
                for line in iter(process.stdout.readline, b""):
                    log(line.decode("utf-8", "replace"))
            code = process.wait()
        finally:
            with self._guard:
                self._running.discard(process)
        if code != 0:
            raise EnvironmentBuildError(f"{shown} failed with exit status {code}")
