"""TEMPORARY: the shape of ``servey_faas.faas.packager.BuiltFunction`` / ``BuildResult`` until
that module is committed (interface: briefs/issue6_interface.md). Replaced by the real types."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from servey_faas.faas._models import FunctionDeployment


class BuiltFunction(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def action_name(self) -> str | None: ...
    @property
    def context(self) -> Path: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def deployment(self) -> FunctionDeployment: ...


class BuildResult(Protocol):
    @property
    def stack_file(self) -> Path: ...
    @property
    def functions(self) -> tuple[BuiltFunction, ...]: ...
