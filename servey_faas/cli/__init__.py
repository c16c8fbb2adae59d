"""The command line of servey_faas: ``python -m servey_faas`` and the ``servey-faas`` script.

Each ``--run=NAME`` is a click command in its own module (``server``, ``action``, ``openapi``),
listed in :data:`servey_faas.cli.main.RUNS`.
"""

from servey_faas.cli.main import RUNS, cli, main

__all__ = ["RUNS", "cli", "main"]
