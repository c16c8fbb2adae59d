"""Entrypoint of the OpenFaaS function api: the API router, serving the REST, GraphQL and
OpenAPI of every action of actions and calling each action's own function through the gateway
(written by servey_faas --run=build; do not edit).

The watchdog starts it as ``python index.py`` (its ``fprocess``); it listens where
``upstream_url`` points (default http://127.0.0.1:5000). ``python index.py --self-test`` runs every
action's examples in-process instead. The REST routes, the actions' schemas and the OpenAPI document
are read from routes.json, schemas.json and openapi.json beside this file.
"""

import os
import sys

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(1, os.path.join(here, "function"))
    # httpx/__init__ imports its command line (httpx._main), which imports click, rich and pygments
    # whenever they are installed (servey_faas's own command line needs them); the router never runs
    # it. A None entry makes that import fail, and httpx falls back to a stub: tens of milliseconds
    # less cold start.
    sys.modules.setdefault("httpx._main", None)
    from servey_faas.faas.deploy.router import run

    files = {
        "schemas_file": os.path.join(here, "schemas.json"),
        "openapi_file": os.path.join(here, "openapi.json"),
        "routes_file": os.path.join(here, "routes.json"),
    }
    sys.exit(run("actions", prefix="", argv=sys.argv[1:], **files))
