"""The ``local`` builder: no image at all; the function's ``image`` is its build context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from servey_faas.errors import BuildError
from servey_faas.faas.deploy.builders.base import LogSink

if TYPE_CHECKING:
    from servey_faas.faas.deploy.packager import BuiltFunction


@dataclass(frozen=True)
class LocalBuilder:
    """For the local gateway (``--run=gateway``), which runs a function from its build context
    as local processes: nothing is built or pushed, and the deployment's ``image`` becomes the
    absolute build context directory as a ``file://`` URI (``file:///home/me/app/serverless/build/say-hello``).
    No registry is needed."""

    @property
    def name(self) -> str:
        return "local"

    @property
    def pushes(self) -> bool:
        return False

    def image_for(self, function: BuiltFunction) -> str:
        return function.context.resolve().as_uri()

    def build(self, function: BuiltFunction, *, image: str, stack_file: Path, log: LogSink) -> None:
        """Check that the build context is there.

        :raises BuildError: when ``function.context`` is not a directory.
        """
        if not function.context.is_dir():
            raise BuildError(f"the build context {function.context} of {function.name} is not a directory")
        log(f"no image to build: the local gateway runs {image}")
