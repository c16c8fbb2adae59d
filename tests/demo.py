"""The demo actions of the repository (``actions/``), loaded as ``python -m servey_faas`` would."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from servey_faas.app import ServeyApp
from servey_faas.settings import Settings

#: The repository root: where ``pyproject.toml`` and the ``actions`` package are.
REPO_ROOT = Path(__file__).resolve().parents[1]


def load_demo_app() -> ServeyApp:
    """The app of the repository's demo actions, with the settings of its ``pyproject.toml``.

    The repository root is put on ``sys.path`` for the import only (plain ``pytest`` does not
    put it there; ``python -m pytest`` does).

    :raises RuntimeError: when an ``actions`` module from elsewhere was imported first.
    """
    settings = Settings.load(environ={}, project_dir=REPO_ROOT)
    with importable(REPO_ROOT):
        app = ServeyApp.load(settings)
    for a in app.actions.values():
        module = sys.modules[a.fn.__module__]
        if not Path(module.__file__ or "").resolve().is_relative_to(REPO_ROOT / "actions"):
            raise RuntimeError(f"action {a.name!r} comes from {module.__file__}, not from {REPO_ROOT / 'actions'}")
    return app


@contextlib.contextmanager
def importable(root: Path) -> Iterator[None]:
    """``root`` first on ``sys.path`` for the duration (unless it is there already)."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            sys.path.remove(entry)
