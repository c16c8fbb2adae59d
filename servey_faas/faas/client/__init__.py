"""The OpenFaaS gateway client: ``GatewayClient`` / ``AsyncGatewayClient`` on httpx, its auth and
token sources, the gateway's wire models (:mod:`~servey_faas.faas.client.models`), its errors, and
``remote()`` proxies of deployed actions. Its public names are re-exported by :mod:`servey_faas.faas`.

Nothing here imports the deploy side, the local gateway or the function runtime.
"""
