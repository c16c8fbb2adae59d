"""Packaging and deploying an app to OpenFaaS: build contexts and ``stack.yml``
(:mod:`~.packager`, :mod:`~.stack`), the JWT key as a secret (:mod:`~.keys`), plan → execute
(:mod:`~.planner`, :mod:`~.executor`), image builders (:mod:`~.builders`) and the ``api`` router
function (:mod:`~.router`). Used by the command line; imports the client, never the local gateway.
"""
