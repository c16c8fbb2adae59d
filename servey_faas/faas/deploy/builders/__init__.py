"""Builders: turn a function's build context into the image its deployment names.

========== ============================================================ ===========
``--builder`` what it does                                              registry
========== ============================================================ ===========
``docker``   ``docker build -t IMAGE CONTEXT`` + ``docker push IMAGE``    needed
``faas-cli`` ``faas-cli build/push -f stack.yml --filter NAME``           needed
``remote``   OpenFaaS Function Builder API, HMAC signed                   needed
``local``    nothing: ``image`` is the build context as a ``file://`` URI no
========== ============================================================ ===========

Each is a small frozen dataclass satisfying the :class:`Builder` protocol. The Function Builder API
is described in ``docs/openfaas.md#function-builder-api``.
"""

from servey_faas.faas.deploy.builders.base import Builder, LogSink
from servey_faas.faas.deploy.builders.docker import DockerBuilder
from servey_faas.faas.deploy.builders.faas_cli import FaasCliBuilder
from servey_faas.faas.deploy.builders.local import LocalBuilder
from servey_faas.faas.deploy.builders.remote import RemoteBuilder

#: The ``--builder`` choices.
BUILDER_NAMES = ("docker", "faas-cli", "remote", "local")

__all__ = [
    "BUILDER_NAMES",
    "Builder",
    "DockerBuilder",
    "FaasCliBuilder",
    "LocalBuilder",
    "LogSink",
    "RemoteBuilder",
]
