"""The ``faas-cli`` builder: ``faas-cli build`` and ``faas-cli push`` with the stack file,
one function at a time (``--filter``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from servey_faas.faas.deploy.builders.base import LogSink, find_executable, run_command

if TYPE_CHECKING:
    from servey_faas.faas.deploy.packager import BuiltFunction


@dataclass(frozen=True)
class FaasCliBuilder:
    """Builds each function with faas-cli found on ``PATH`` as ``executable``, from the stack
    file the packager wrote (``docs/openfaas.md#faas-cli-and-stack-files``)::

        faas-cli build -f STACK --filter NAME
        faas-cli push -f STACK --filter NAME

    faas-cli runs in ``project_dir`` (the stack file's ``handler`` paths are relative to the
    project folder, as the packager writes them), with ``STACK`` relative to it when the stack
    file lies inside it, and builds the image the stack names (the packager writes
    ``deployment.image`` there). With ``platform`` (one or several, comma-separated), the build
    runs as ``faas-cli publish -f STACK --filter NAME --platforms P``, which builds with buildx
    and pushes in one step; ``faas-cli build`` has no platform option.
    """

    platform: str | None = None
    project_dir: Path = Path(".")
    executable: str = "faas-cli"

    @property
    def name(self) -> str:
        return "faas-cli"

    @property
    def pushes(self) -> bool:
        return True

    def image_for(self, function: BuiltFunction) -> str:
        return function.deployment.image

    def build(self, function: BuiltFunction, *, image: str, stack_file: Path, log: LogSink) -> None:
        """Build and push ``function.name`` as the stack file declares it.

        :raises BuildError: when faas-cli is missing or a command exits non-zero.
        """
        faas_cli = find_executable(self.executable, self.name)
        cwd = self.project_dir
        try:
            stack_path = str(stack_file.resolve().relative_to(cwd.resolve()))
        except ValueError:  # outside the project folder
            stack_path = str(stack_file.resolve())
        stack = ["-f", stack_path, "--filter", function.name]
        if self.platform:
            run_command([faas_cli, "publish", *stack, "--platforms", self.platform], log=log, cwd=cwd)
            return
        run_command([faas_cli, "build", *stack], log=log, cwd=cwd)
        run_command([faas_cli, "push", *stack], log=log, cwd=cwd)
