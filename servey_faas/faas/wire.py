"""OpenFaaS names and values that several parts of servey_faas put on (or read off) the wire:
defined once here, imported by the client, the deploy side, the function runtime and the local
gateway. See ``docs/openfaas.md`` for where each comes from.
"""

from __future__ import annotations

#: The provider's default (and, on CE, only) function namespace; the SDKs invoke
#: ``NAME.openfaas-fn`` when no namespace is given (``docs/openfaas.md#passing-namespaces``).
DEFAULT_NAMESPACE = "openfaas-fn"
#: The gateway faas-cli uses when nothing else is configured (``docs/openfaas.md#stack-file-fields``).
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
#: The gateway's address inside a Kubernetes cluster (service ``gateway`` in namespace ``openfaas``).
IN_CLUSTER_GATEWAY_URL = "http://gateway.openfaas:8080"
#: The ``topic`` annotation of a function cron-connector schedules (``docs/openfaas.md#schedule-annotations``).
CRON_TOPIC = "cron-function"
#: of-watchdog's health and readiness paths, answered by the watchdog itself or forwarded to the
#: upstream's ``ready_path`` (``docs/openfaas.md#health-and-readiness``).
HEALTH_PATH = "/_/health"
READY_PATH = "/_/ready"
#: Where providers mount a function's secrets, one file each (``docs/openfaas.md#secrets-as-files``).
SECRET_MOUNT_PATH = "/var/openfaas/secrets"  # noqa: S105 (a folder, not a password)
#: Where an end user's bearer token travels to a servey_faas function whose ``Authorization``
#: carries an OpenFaaS function token (``jwt_auth=true``).
USER_AUTHORIZATION_HEADER = "X-Servey-Authorization"
