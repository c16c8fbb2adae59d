"""The app: its settings, its actions and their invokers, found and built once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from servey_faas.authentication import TokenVerifier
from servey_faas.discovery import ActionRegistry, find_actions
from servey_faas.invocation import ActionInvoker, build_invokers
from servey_faas.settings import Settings


@dataclass(frozen=True)
class ServeyApp:
    """Everything the transports (REST, CLI, tests, schedulers, functions) share.

    Build it once with :meth:`load` and pass it down; nothing here is global.
    """

    settings: Settings
    actions: ActionRegistry
    invokers: Mapping[str, ActionInvoker]
    #: Verifies end users' bearer tokens; None when no JWT key is configured (or the app was
    #: loaded with ``verify_tokens=False``): every bearer token is then refused.
    verifier: TokenVerifier | None = None

    @classmethod
    def load(cls, settings: Settings | None = None, *, verify_tokens: bool = True) -> ServeyApp:
        """Find the actions named by ``settings`` and build their invokers (and, with
        ``verify_tokens``, the bearer token verifier: see :meth:`from_registry`).

        :raises DiscoveryError: when the actions cannot be imported or two share a name.
        :raises ActionDefinitionError: when an action cannot be served as declared.
        :raises ConfigurationError: with ``verify_tokens``, as :meth:`from_registry`.
        """
        settings = settings or Settings.load()
        return cls.from_registry(find_actions(settings.action_path), settings, verify_tokens=verify_tokens)

    @classmethod
    def from_registry(
        cls,
        actions: ActionRegistry,
        settings: Settings | None = None,
        *,
        schemas: Mapping[str, Mapping[str, Any]] | None = None,
        verify_tokens: bool = True,
    ) -> ServeyApp:
        """An app over actions already found (or listed by hand, as tests do).

        ``schemas`` maps action names to precomputed schema documents
        (:attr:`~servey_faas.invocation.ActionInvoker.schema_document`, as ``--run=build`` writes
        them); those actions' schemas are not generated again (see :func:`build_invokers`).

        ``verify_tokens`` (the servers) builds :attr:`verifier` from the JWT settings; without it
        (commands that package, deploy, describe or run actions in-process, which verify no token)
        no key is needed and :attr:`verifier` is None.

        :raises ActionDefinitionError: when an action cannot be served as declared, or its schema
            document does not match it (stale).
        :raises ConfigurationError: with ``verify_tokens``, when an action needs bearer tokens and
            no JWT key is configured, or the key does not suit the JWT algorithms.
        """
        settings = settings or Settings()
        invokers = build_invokers(actions.values(), schemas=schemas)
        verifier = settings.jwt.verifier(invokers.values()) if verify_tokens else None
        return cls(settings, actions, invokers, verifier)

    def invoker(self, name: str) -> ActionInvoker:
        """The invoker of the action called ``name`` (``-`` read as ``_``).

        :raises ActionNotFoundError: naming the actions there are.
        """
        return self.invokers[self.actions.get_action(name).name]
