"""Names derived from an action's name: its default REST path and its OpenFaaS function name."""

from __future__ import annotations

import re

from servey_faas.errors import ConfigurationError

# DNS-1123 label: what Kubernetes providers require of a function name (``docs/openfaas.md#functiondeployment``).
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def default_path(action_name: str) -> str:
    """``/actions/<name with _ as ->``: the REST path of a ``WebTrigger`` without its own path."""
    return f"/actions/{action_name.replace('_', '-')}"


def function_name(action_name: str, prefix: str = "") -> str:
    """The OpenFaaS function name of an action: ``_`` → ``-``, lower case, behind ``prefix``.

    :raises ConfigurationError: when the result is not a DNS-1123 label of at most 63 characters.
    """
    name = f"{prefix}{action_name.replace('_', '-').lower()}"
    if len(name) > 63 or not _DNS_1123_LABEL.match(name):
        raise ConfigurationError(
            f"function name {name!r} (from action {action_name!r}) is not a DNS-1123 label: "
            "lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )
    return name
