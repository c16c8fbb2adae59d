"""The ``docker`` builder: ``docker build`` the function's build context, then ``docker push``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from servey_faas.faas.deploy.builders.base import LogSink, find_executable, run_command

if TYPE_CHECKING:
    from servey_faas.faas.deploy.packager import BuiltFunction


@dataclass(frozen=True)
class DockerBuilder:
    """Builds each function with the docker CLI found on ``PATH`` as ``executable``::

        docker build -t IMAGE [--platform PLATFORM] CONTEXT
        docker push IMAGE

    Several comma-separated platforms (``linux/amd64,linux/arm64``) need BuildKit's multi-platform
    output, which only a push can hold, so they run as one
    ``docker buildx build --platform P1,P2 -t IMAGE --push CONTEXT``. The image is the
    packager's ``deployment.image`` (registry, function name, content-hash tag), so it names
    a registry the docker daemon must be logged in to.
    """

    platform: str | None = None
    executable: str = "docker"

    @property
    def name(self) -> str:
        return "docker"

    @property
    def pushes(self) -> bool:
        return True

    def image_for(self, function: BuiltFunction) -> str:
        return function.deployment.image

    def build(self, function: BuiltFunction, *, image: str, stack_file: Path, log: LogSink) -> None:
        """Build and push ``image`` from ``function.context``.

        :raises BuildError: when docker is missing or a command exits non-zero.
        """
        docker = find_executable(self.executable, self.name)
        context = str(function.context)
        if self.platform and "," in self.platform:
            buildx = [docker, "buildx", "build", "--platform", self.platform, "-t", image, "--push", context]
            run_command(buildx, log=log)
            return
        platform = ["--platform", self.platform] if self.platform else []
        run_command([docker, "build", "-t", image, *platform, context], log=log)
        run_command([docker, "push", image], log=log)
