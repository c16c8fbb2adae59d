"""What every builder shares: the :class:`Builder` protocol and running a build command.

A builder turns one packaged function (its build context, written by the packager) into
something the gateway can run: an image pushed to a registry (``docker``, ``faas-cli``,
``remote``), or nothing at all (``local``: the local gateway runs the build context itself).
Builders never write build contexts; they read them.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from servey_faas.errors import BuildError

if TYPE_CHECKING:
    from servey_faas.faas.deploy.packager import BuiltFunction

#: Where a builder sends its log lines (one line, no trailing newline).
LogSink = Callable[[str], None]

#: How many of a failed command's last output lines its error message quotes.
TAIL_LINES = 20


class Builder(Protocol):
    """Turns a function's build context into what its deployment's ``image`` names.

    ``name`` is the ``--builder`` value (``docker``, ``faas-cli``, ``remote``, ``local``);
    ``pushes`` is True when the image goes to a registry, so the image reference must name one.
    """

    @property
    def name(self) -> str: ...

    @property
    def pushes(self) -> bool: ...

    def image_for(self, function: BuiltFunction) -> str:
        """The image reference the function is deployed with (usually ``deployment.image``).
        Pure: called while planning, before anything is built."""
        ...

    def build(self, function: BuiltFunction, *, image: str, stack_file: Path, log: LogSink) -> None:
        """Build (and push) ``image`` from ``function.context``, sending progress lines to ``log``.

        :raises BuildError: naming what failed (the command, its exit code, its last lines).
        """
        ...


def find_executable(executable: str, builder: str) -> str:
    """The full path of ``executable`` on ``PATH``.

    :raises BuildError: when it is not there.
    """
    found = shutil.which(executable)
    if found is None:
        raise BuildError(
            f"the {builder} builder runs {executable!r}, which is not on PATH: install it, or choose another --builder"
        )
    return found


def run_command(argv: Sequence[str], *, log: LogSink, cwd: Path | None = None) -> None:
    """Run ``argv`` (``argv[0]`` resolved on ``PATH`` by the caller), streaming its merged
    stdout/stderr to ``log`` line by line.

    :raises BuildError: when it cannot start or exits non-zero; the message holds the command,
        the exit code and its last :data:`TAIL_LINES` lines.
    """
    shown = " ".join(argv)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as e:
        raise BuildError(f"cannot run `{shown}`: {e.strerror or e}") from e
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            line = raw.rstrip("\r\n")
            tail.append(line)
            log(line)
        code = process.wait()
    if code != 0:
        last = "".join(f"\n    {line}" for line in tail)
        raise BuildError(f"`{shown}` exited with {code}" + (f"; its last lines:{last}" if last else ""))
