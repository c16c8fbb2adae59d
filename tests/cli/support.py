"""Helpers shared by the command-line tests: running the CLI in-process, test projects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from servey_faas.cli import cli

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the command line in-process, as ``servey-faas ARGS``."""
    return CliRunner().invoke(cli, list(args), prog_name="servey-faas", input=input, env=env)


@dataclass(frozen=True)
class Project:
    """An actions package written for one test."""

    root: Path
    package: str

    @property
    def init(self) -> Path:
        return self.root / self.package / "__init__.py"


MakeProject = Callable[..., Project]

#: Actions for the ``--run=action`` tests: defaults, async, ones that raise, one with no JSON result.
TEST_ACTIONS = '''
    import asyncio
    from dataclasses import dataclass

    from servey_faas import action


    @dataclass(frozen=True)
    class Point:
        x: int
        y: int


    @action
    def greet(name: str = "nobody", punctuation: str = "!") -> str:
        """Greet someone."""
        return f"Hi {name}{punctuation}"


    @action
    async def add(a: int, b: int) -> int:
        """Add two numbers, awaiting once."""
        await asyncio.sleep(0)
        return a + b


    @action
    def mirror(point: Point) -> Point:
        """Swap the coordinates."""
        return Point(x=point.y, y=point.x)


    @action
    def explode(reason: str = "bad input") -> str:
        """Always raises ValueError."""
        raise ValueError(reason)


    @action
    def explode_quietly() -> str:
        """Raises an exception without a message."""
        raise RuntimeError


    @action
    def not_a_number() -> float:
        """Returns NaN, which JSON cannot carry."""
        return float("nan")
'''

BROKEN_ACTIONS = """
    raise RuntimeError("the actions module is broken")
"""
