"""Fixtures for the deploy tests: packaged functions made by hand (the packager's
``BuildResult``/``BuiltFunction`` without running it), fake executables on PATH that record their
argv.

The fake gateway (``gateway``, ``gateway_url``, ``client``) comes from ``tests/faas/conftest.py``:
a spec-checking fake CE gateway with basic auth on real loopback HTTP.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from servey_faas.faas import FunctionDeployment
from servey_faas.faas.deploy.packager import BuildResult, BuiltFunction

REGISTRY = "registry.example/acme"


@dataclass
class Packager:
    """Writes small build contexts under ``root/serverless`` and returns a :class:`BuildResult`
    shaped as the packager's: image ``<registry>/<name>:<content hash[:12]>``."""

    root: Path
    registry: str | None = REGISTRY
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def build(self, *names: str, namespace: str = "") -> BuildResult:
        out = self.root / "serverless"
        functions = []
        for name in names:
            context = out / "build" / name
            (context / "function").mkdir(parents=True, exist_ok=True)
            (context / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY . /home/app\n", encoding="utf-8")
            (context / "function" / "handler.py").write_text(f"NAME = {name!r}\n", encoding="utf-8")
            digest = hashlib.sha256()
            for path in sorted(p for p in context.rglob("*") if p.is_file()):
                digest.update(path.relative_to(context).as_posix().encode() + b"\0" + path.read_bytes())
            content_hash = digest.hexdigest()
            tag = f"{name}:{content_hash[:12]}"
            image = tag if self.registry is None else f"{self.registry}/{tag}"
            deployment = FunctionDeployment(
                service=name,
                image=image,
                namespace=namespace,
                env_process="python index.py",
                env_vars={"exec_timeout": "30s", **self.env.get(name, {})},
                secrets=self.secrets.get(name, ()),
                labels={"com.openfaas.scale.min": "1"},
                annotations={},
            )
            functions.append(BuiltFunction(name, name.replace("-", "_"), context, content_hash, deployment))
        out.mkdir(parents=True, exist_ok=True)
        stack = out / "stack.yml"
        stack.write_text("version: 1.0\nprovider:\n  name: openfaas\n", encoding="utf-8")
        return BuildResult(stack, tuple(functions))


@pytest.fixture
def packager(tmp_path: Path) -> Packager:
    return Packager(tmp_path)


@dataclass(frozen=True)
class FakeTool:
    """A fake executable on PATH: each run appends ``{"argv": [...], "cwd": ...}`` to ``log``,
    prints two lines, and exits with the code ``exit_codes`` maps the first key found in its
    space-joined arguments to (0 when none is)."""

    name: str
    log: Path

    def calls(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def argvs(self) -> list[list[str]]:
        return [list(c["argv"])[1:] for c in self.calls()]  # type: ignore[call-overload]


MakeTool = Callable[..., FakeTool]


@pytest.fixture
def fake_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeTool:
    """``fake_tool("docker", exit_codes={"push ": 1})`` puts a fake ``docker`` first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def make(name: str, exit_codes: Mapping[str, int] | None = None, output: Sequence[str] = ()) -> FakeTool:
        log = tmp_path / f"{name}.calls.jsonl"
        script = bin_dir / name
        lines = list(output) or [f"{name} step 1/2", f"{name} step 2/2"]
        script.write_text(
            f"#!{sys.executable}\n"
            + textwrap.dedent(
                f"""\
                import json, os, sys
                with open({str(log)!r}, "a", encoding="utf-8") as f:
                    f.write(json.dumps({{"argv": sys.argv, "cwd": os.getcwd()}}) + "\\n")
                for line in {lines!r}:
                    print(line, flush=True)
                codes = {dict(exit_codes or {})!r}
                line = " ".join(sys.argv[1:])
                code = next((c for text, c in codes.items() if text in line), 0)
                if code:
                    print("boom: " + " ".join(sys.argv[1:]), file=sys.stderr, flush=True)
                sys.exit(code)
                """
            ),
            encoding="utf-8",
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return FakeTool(name, log)

    return make
