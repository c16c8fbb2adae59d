"""The exception tree (servey_faas/errors.py)."""

from __future__ import annotations

import pytest

from servey_faas import ServeyFaasError
from servey_faas.errors import (
    AccessError,
    ActionDefinitionError,
    ActionNotFoundError,
    BadRequestError,
    BuildError,
    ConfigurationError,
    DeployError,
    DiscoveryError,
    FieldError,
    GatewayError,
    InvocationError,
    ValidationError,
)


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (ConfigurationError, ServeyFaasError),
        (ActionDefinitionError, ConfigurationError),
        (DiscoveryError, ConfigurationError),
        (ActionNotFoundError, ServeyFaasError),
        (ValidationError, ServeyFaasError),
        (BadRequestError, ServeyFaasError),
        (AccessError, ServeyFaasError),
        (BuildError, ServeyFaasError),
        (DeployError, ServeyFaasError),
        (GatewayError, ServeyFaasError),
        (InvocationError, ServeyFaasError),
    ],
)
def test_tree_as_documented(error: type[Exception], parent: type[Exception]) -> None:
    assert error.__mro__[1] is parent


def test_root_is_an_exception_and_not_a_builtin_subclass() -> None:
    assert ServeyFaasError.__mro__[1] is Exception


def test_exit_codes() -> None:
    assert ServeyFaasError.exit_code == 1
    assert ConfigurationError.exit_code == 1
    assert ValidationError.exit_code == 2
    assert BadRequestError.exit_code == 2
    assert ActionNotFoundError.exit_code == 2


def test_field_error_prefixed_puts_the_prefix_in_front() -> None:
    error = FieldError(("item", 0, "price"), "must be a number")
    assert error.prefixed("body") == FieldError(("body", "item", 0, "price"), "must be a number")
    assert error.prefixed() == error
    assert error.location == ("item", 0, "price")  # unchanged: field errors are values


def test_validation_error_carries_its_field_errors_and_a_readable_message() -> None:
    errors = [FieldError(("name",), "field required"), FieldError(("items", 2, "qty"), "-1 is less than 0")]
    exc = ValidationError(errors)
    assert exc.errors == tuple(errors)
    assert str(exc) == "name: field required; items.2.qty: -1 is less than 0"


def test_validation_error_on_the_params_themselves() -> None:
    assert str(ValidationError([FieldError((), "not an object")])) == "(params): not an object"


def test_every_error_is_caught_by_the_root() -> None:
    with pytest.raises(ServeyFaasError):
        raise ValidationError([])
