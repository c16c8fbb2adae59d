"""Entrypoint of the OpenFaaS function say-hello: serves the action say_hello at / and under its
REST paths (written by servey_faas --run=build; do not edit).

The watchdog starts it as ``python index.py`` (its ``fprocess``); it listens where
``upstream_url`` points (default http://127.0.0.1:5000). ``python index.py --self-test`` runs the
action's examples instead. The action's schemas are read from schemas.json beside this file.
"""

import os
import sys

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(1, os.path.join(here, "function"))
    from servey_faas.faas.runtime import run

    sys.exit(run("actions.greetings", "say_hello", sys.argv[1:], schemas_file=os.path.join(here, "schemas.json")))
