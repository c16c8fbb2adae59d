"""The exceptions servey_faas raises on purpose.

Every one derives from :class:`ServeyFaasError`, so ``except ServeyFaasError`` catches all of
them and nothing else::

    ServeyFaasError
     ├── ConfigurationError        the app or its settings are wrong (raised at startup)
     │    ├── ActionDefinitionError   an @action cannot be served as declared
     │    └── DiscoveryError          actions could not be found or imported
     ├── ActionNotFoundError       no action has the name asked for
     ├── ValidationError           params do not match the action's schema (HTTP 422)
     ├── BadRequestError           the request itself is malformed (HTTP 400)
     ├── AccessError               end-user access was refused
     │    ├── UnauthorizedError       no valid bearer token (HTTP 401)
     │    └── ForbiddenError          a valid token without the scope needed (HTTP 403)
     ├── BuildError                a build context or image could not be made
     ├── DeployError               a deployment step failed
     ├── GatewayError              the OpenFaaS gateway answered with an error
     │    └── (servey_faas.faas) GatewayStatusError: InvalidRequestError, GatewayUnauthorizedError,
     │        GatewayForbiddenError, NotFoundError, ConflictError, GatewayServerError;
     │        GatewayConnectionError → GatewayTimeoutError; OAuthError
     └── InvocationError           an action or a deployed function failed while running
          ├── BadGatewayError         a deployed function could not be reached (HTTP 502)
          ├── ActionTimeoutError      an action ran past its timeout (HTTP 504)
          └── (servey_faas.faas) FunctionError
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ServeyFaasError(Exception):
    """Root of every error servey_faas raises on purpose."""

    #: Process exit code the command line uses for this error.
    exit_code: int = 1


class ConfigurationError(ServeyFaasError):
    """The app, an action or a setting is wrong; found at startup, never per request."""


class ActionDefinitionError(ConfigurationError):
    """An ``@action`` cannot be served as declared (bad annotation, example or trigger)."""


class DiscoveryError(ConfigurationError):
    """The actions module could not be imported, or two actions share one name."""


class ActionNotFoundError(ServeyFaasError):
    """No action is registered under the name asked for."""

    exit_code = 2


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is and what is wrong with it.

    ``location`` is a path such as ``("body", "item", "price")``: first the part of the request
    (``query``, ``path``, ``body``; empty for in-process calls), then the keys down to the field.
    """

    location: tuple[str | int, ...]
    message: str

    def prefixed(self, *prefix: str | int) -> FieldError:
        """This error with ``prefix`` put in front of its location."""
        return FieldError((*prefix, *self.location), self.message)


class ValidationError(ServeyFaasError):
    """Params do not match the action's JSON Schema. Carries one :class:`FieldError` per field."""

    exit_code = 2

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{'.'.join(map(str, e.location)) or '(params)'}: {e.message}" for e in self.errors))


class BadRequestError(ServeyFaasError):
    """The request is malformed before validation: bad JSON, wrong content type."""

    exit_code = 2


class AccessError(ServeyFaasError):
    """End-user access was refused."""


class UnauthorizedError(AccessError):
    """No bearer token, or one that is malformed, badly signed, expired or not yet valid (HTTP 401,
    RFC 6750 §3.1 ``invalid_token``)."""


class ForbiddenError(AccessError):
    """A valid token that lacks the scope the action needs (HTTP 403, RFC 6750 §3.1
    ``insufficient_scope``)."""


class BuildError(ServeyFaasError):
    """A build context or an image could not be made."""


class DeployError(ServeyFaasError):
    """A deployment step failed."""


class GatewayError(ServeyFaasError):
    """The OpenFaaS gateway answered with an error status."""


class InvocationError(ServeyFaasError):
    """An action, or a deployed function, failed while running."""


class BadGatewayError(InvocationError):
    """A deployed function could not be reached through the OpenFaaS gateway (unreachable, timed
    out, or the platform in front of the function failed): HTTP 502 from the API router, with a
    message naming the gateway URL and the function."""


class ActionTimeoutError(InvocationError):
    """An action did not return within its ``timeout`` (HTTP 504, as the OpenFaaS watchdog answers
    past ``exec_timeout``). ``action_name`` names it; ``timeout`` is in seconds."""

    def __init__(self, action_name: str, timeout: float) -> None:
        self.action_name = action_name
        self.timeout = timeout
        super().__init__(f"action {action_name!r} did not finish within its timeout of {timeout:g} s")
