"""The one invocation path: JSON params → validate → unmarshal → call → marshal the result.

REST, GraphQL, the command line, generated tests, schedulers and the function handler inside an
OpenFaaS container all call actions through :class:`ActionInvoker`, so validation, errors and
results agree everywhere.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servey_faas.access_control import ALLOW_ALL, ALLOW_NONE
from servey_faas.action import Action
from servey_faas.authorization import Authorization
from servey_faas.errors import (
    ActionDefinitionError,
    ActionTimeoutError,
    FieldError,
    UnauthorizedError,
    ValidationError,
)
from servey_faas.schemas import TypeCodec, normalize_type
from servey_faas.threads import WorkerThreads
from servey_faas.timers import loop_timers
from servey_faas.types import JSON

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

_PASS_THROUGH = (str, int, bool, type(None), typing.Any)


@dataclass(frozen=True)
class Parameter:
    """One parameter of an action: its name, type, default and JSON Schema.

    ``schema``'s recursive ``$ref``s point under ``#/properties/<name>`` (the params schema).
    """

    name: str
    type: Any
    required: bool
    default: Any
    schema: dict[str, Any]


class ActionInvoker:
    """Calls one action with JSON params and returns its JSON result. Build once per app.

    Sync actions run on ``threads`` (one :class:`~servey_faas.threads.WorkerThreads` shared by
    the app's invokers, see :func:`build_invokers`), or on a pool of the invoker's own.

    ``schemas``, when given, is a :attr:`schema_document` written earlier (``--run=build`` writes
    it into each function's build context): ``{"params": <params schema>, "result": <result
    schema>}``. The schemas and the params' JSON defaults are then read from it instead of being
    generated, nothing is asked of ``codec`` at construction and the examples are not checked
    again (the build checked them), so that a function starts without schemey or marshy. Only the
    names and the required set of the params are checked against the signature.

    :raises ActionDefinitionError: at construction, when a parameter or the return value has no
        annotation or no JSON form, when the function takes ``*args``/``**kwargs``, or when an
        example names unknown params, fails validation or gives a result (other than None: no
        result given) that does not match the result schema; with ``schemas``, when the document
        is not of the shape above or its params differ from the signature's (stale: rebuild).
    """

    def __init__(
        self,
        action: Action,
        codec: TypeCodec,
        threads: WorkerThreads | None = None,
        *,
        schemas: Mapping[str, Any] | None = None,
    ) -> None:
        self.action = action
        self.codec = codec
        #: The worker threads sync calls run on (``threads``, else a pool of this invoker's own).
        self.threads = threads if threads is not None else WorkerThreads()
        self._timeout = action.timeout
        self._label = f"action {action.name!r}"
        fn = action.fn
        try:
            hints = typing.get_type_hints(fn)
        except Exception as e:
            raise ActionDefinitionError(f"action {action.name!r}: cannot resolve type hints: {e}") from e
        document = None if schemas is None else _read_document(action.name, schemas)
        params: list[Parameter] = []
        #: The parameter that receives the caller's Authorization (never a schema field).
        self.authorization_param: str | None = None
        self._authorization_required = False
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise ActionDefinitionError(f"action {action.name!r}: *args and **kwargs are not supported ({p})")
            if p.name not in hints:
                raise ActionDefinitionError(f"action {action.name!r}: parameter {p.name!r} needs a type annotation")
            type_ = normalize_type(hints[p.name])
            if type_ is Authorization or type_ == typing.Optional[Authorization]:  # noqa: UP045
                self.authorization_param = p.name
                self._authorization_required = type_ is Authorization and p.default is inspect.Parameter.empty
                continue
            required = p.default is inspect.Parameter.empty
            if document is not None:
                schema = document.param_schemas.get(p.name, {})
            else:
                schema = self._schema_for(type_, f"#/properties/{p.name}", f"parameter {p.name!r}")
                if not required:
                    schema = {**schema, "default": _to_json(codec, p.default, type_)}
            params.append(Parameter(p.name, type_, required, None if required else p.default, schema))
        if "return" not in hints:
            raise ActionDefinitionError(f"action {action.name!r}: the return value needs a type annotation")
        self.params: tuple[Parameter, ...] = tuple(params)
        self.result_type: Any = normalize_type(hints["return"])
        if document is not None:
            document.check_params(self.params)
            self.result_schema: dict[str, Any] = document.result_schema
        else:
            self.result_schema = self._schema_for(self.result_type, "#", "return value")
        self.params_schema: dict[str, Any] = {
            "type": "object",
            "properties": {p.name: p.schema for p in self.params},
            "required": [p.name for p in self.params if p.required],
            "additionalProperties": False,
        }
        self._validator = codec.validator(self.params_schema)
        self._plain_types = _plain_types(self.params)
        self._check = None if self._plain_types is not None else self._compiled_check()
        self._required = frozenset(p.name for p in self.params if p.required)
        self._loaders: dict[str, Callable[[Any], Any]] = {p.name: self._loader(p.type) for p in self.params}
        self._dump: Callable[[Any], JSON] = self._dumper(self.result_type)
        self._is_async = action.is_async
        if document is None:
            self._check_examples()

    @property
    def schema_document(self) -> dict[str, Any]:
        """``{"params": params_schema, "result": result_schema}``: what ``schemas=`` takes to build
        this invoker again without generating them (a copy; JSON-serialisable)."""
        return {"params": deepcopy(self.params_schema), "result": deepcopy(self.result_schema)}

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def requires_token(self) -> bool:
        """True when no call succeeds without a valid bearer token: the access control requires one,
        or a parameter annotated ``Authorization`` (not ``Authorization | None``) has no default."""
        return self.action.requires_token or self._authorization_required

    @property
    def reads_token(self) -> bool:
        """True when a call's outcome can depend on the caller's verified token, so that whatever
        serves the action needs the JWT key: an access control other than ``ALLOW_ALL`` and
        ``ALLOW_NONE`` (it decides by the token), or a parameter annotated ``Authorization``."""
        access = self.action.access_control
        return self.authorization_param is not None or (access is not None and access not in (ALLOW_ALL, ALLOW_NONE))

    def load_params(self, params: Mapping[str, Any], authorization: Authorization | None = None) -> dict[str, Any]:
        """Validate JSON ``params`` against the params schema and unmarshal them to keyword args.

        Params left out get the function's defaults (they are not passed). ``authorization`` is
        passed to the parameter annotated with :class:`Authorization`, if any; it comes from a
        verified token, never from ``params``.

        :raises ValidationError: listing every invalid field, location relative to the params.
        :raises UnauthorizedError: when the action requires an Authorization and none is given.
        """
        kwargs = self._unmarshal(params)
        if self.authorization_param is not None:
            if authorization is None and self._authorization_required:
                raise UnauthorizedError(f"action {self.name!r} needs a bearer token")
            kwargs[self.authorization_param] = authorization
        return kwargs

    def _unmarshal(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not self._surely_valid(params):
            errors = list(self._validator.iter_errors(params))
            if errors:
                raise ValidationError([e for err in errors for e in _field_errors(err)])
        loaders = self._loaders
        return {name: loaders[name](value) for name, value in params.items()}

    def _surely_valid(self, params: Mapping[str, Any]) -> bool:
        """True when ``params`` are valid without asking the validator. When every param is a
        plain string, integer, number or boolean (see :func:`_plain_types`): the required ones are
        given, no other key is, and each value has its exact JSON type (validating costs ~6 µs,
        this check well under one); otherwise the params schema's compiled check says so (see
        :mod:`servey_faas.validity`: a few µs where the validator takes tens or hundreds). False
        means "ask the validator", which also reports the errors."""
        plain = self._plain_types
        if plain is None:
            return self._check is not None and type(params) is dict and self._check(params)
        if not self._required <= params.keys():
            return False
        for name, value in params.items():
            types_ = plain.get(name)
            if types_ is None or type(value) not in types_:
                return False
        return True

    def _compiled_check(self) -> Callable[[Any], bool] | None:
        from servey_faas.validity import compile_check

        format_checker = getattr(self._validator, "format_checker", None)
        return None if format_checker is None else compile_check(self.params_schema, format_checker)

    def dump_result(self, result: Any) -> JSON:
        """The JSON form of a return value of the action."""
        return self._dump(result)

    async def invoke(self, params: Mapping[str, Any], authorization: Authorization | None = None) -> JSON:
        """Run the action with JSON ``params``, as :meth:`call` does (sync functions on a worker
        thread, within the action's timeout).

        :raises ValidationError: for invalid params. :raises ActionTimeoutError: past the timeout.
            Exceptions raised by the action propagate.
        """
        kwargs = self.load_params(params, authorization)
        return self._dump(await self.call(kwargs))

    async def call(self, kwargs: Mapping[str, Any]) -> Any:
        """Call the function with already-loaded ``kwargs`` (async awaited, sync on a worker thread),
        within the action's ``timeout``.

        Past the timeout an async action is cancelled (``CancelledError`` is raised inside it) and
        a sync action's call is left to finish on its thread, its result dropped (see
        :class:`~servey_faas.threads.WorkerThreads`). Cancelling the awaiting task does the same.

        :raises ActionTimeoutError: when the timeout passes first. Exceptions raised by the action
            propagate.
        """
        import asyncio  # already imported by the running loop: a dict lookup

        task = asyncio.current_task()
        assert task is not None, "ActionInvoker.call runs in an asyncio task"
        cancelling = task.cancelling()
        timer = loop_timers(task.get_loop()).call_later(self._timeout, task.cancel)
        taken_back = False
        try:
            if self._is_async:
                return await self.action.fn(**kwargs)
            return await self.threads.run(functools.partial(self.action.fn, **kwargs), self._label)
        except asyncio.CancelledError:
            if timer.fired:
                taken_back = True
                if task.uncancel() <= cancelling:  # no other cancel is pending: the timeout's own
                    raise ActionTimeoutError(self.name, self._timeout) from None
            raise
        finally:
            timer.cancel()
            if timer.fired and not taken_back:
                task.uncancel()  # the action caught the timeout's cancel: take it back all the same

    def invoke_sync(self, params: Mapping[str, Any], authorization: Authorization | None = None) -> JSON:
        """Like :meth:`invoke`, from synchronous code, in the calling thread (async actions run on a
        new event loop); no timeout is enforced."""
        kwargs = self.load_params(params, authorization)
        if self._is_async:
            import asyncio

            return self._dump(asyncio.run(self.action.fn(**kwargs)))
        return self._dump(self.action.fn(**kwargs))

    def example_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Example params in their JSON form (Python values are marshalled with the param types)."""
        types_ = {p.name: p.type for p in self.params}
        return {k: _to_json(self.codec, v, types_.get(k)) for k, v in params.items()}

    def example_result(self, result: Any) -> JSON:
        """An example result in its JSON form."""
        json_result: JSON = _to_json(self.codec, result, self.result_type)
        return json_result

    def _schema_for(self, type_: Any, path: str, what: str) -> dict[str, Any]:
        try:
            self.codec.check(type_)
            return self.codec.schema(type_, path)
        except ValueError as e:
            raise ActionDefinitionError(
                f"action {self.action.name!r}: {what} of type {type_!r} has no JSON form ({e})"
            ) from e

    def _loader(self, type_: Any) -> Callable[[Any], Any]:
        if type_ is int:
            return _load_int
        if type_ in _PASS_THROUGH:
            return _identity
        if type_ is float:
            return float
        return functools.partial(self.codec.load, type_)

    def _dumper(self, type_: Any) -> Callable[[Any], JSON]:
        if type_ in _PASS_THROUGH or type_ is float:
            return _identity
        codec = self.codec
        return lambda value: codec.dump(value, type_)

    def _check_examples(self) -> None:
        names = {p.name for p in self.params}
        for example in self.action.examples:
            unknown = sorted(set(example.params) - names)
            if unknown:
                raise ActionDefinitionError(
                    f"action {self.name!r}: example {example.name!r} names unknown params {', '.join(unknown)}"
                )
            try:
                # Only the params: an example cannot carry the caller's Authorization.
                self._unmarshal(self.example_params(example.params))
            except ValidationError as e:
                raise ActionDefinitionError(f"action {self.name!r}: example {example.name!r} is invalid: {e}") from e
            if example.result is not None:
                errors = list(self.codec.validator(self.result_schema).iter_errors(self.example_result(example.result)))
                if errors:
                    invalid = ValidationError([e for err in errors for e in _field_errors(err)])
                    raise ActionDefinitionError(
                        f"action {self.name!r}: the result of example {example.name!r} does not match the "
                        f"return type: {invalid}"
                    )


def build_invokers(
    actions: Iterable[Action],
    codec: TypeCodec | None = None,
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, ActionInvoker]:
    """One :class:`ActionInvoker` per action, by action name, sharing one codec and one pool of
    worker threads for the sync actions.

    ``schemas`` maps action names to their :attr:`ActionInvoker.schema_document`; those actions'
    invokers are built from it, the others' schemas are generated. Names of actions not in
    ``actions`` are ignored.

    :raises ActionDefinitionError: as :class:`ActionInvoker`.
    """
    codec = codec or TypeCodec()
    threads = WorkerThreads()
    given = schemas or {}
    return {a.name: ActionInvoker(a, codec, threads, schemas=given.get(a.name)) for a in actions}


@dataclass(frozen=True)
class _Document:
    """A checked schema document (see :attr:`ActionInvoker.schema_document`), copied."""

    action_name: str
    param_schemas: dict[str, dict[str, Any]]
    required: list[str]
    result_schema: dict[str, Any]

    def check_params(self, params: Iterable[Parameter]) -> None:
        """Raise unless the document's params are ``params``: same names, same required ones.

        :raises ActionDefinitionError: saying the schemas are stale and what differs.
        """
        params = list(params)
        differences = []
        names, documented = {p.name for p in params}, set(self.param_schemas)
        if names != documented:
            differences.append(f"params {_names(documented)} in the schemas, {_names(names)} in the signature")
        required, documented_required = {p.name for p in params if p.required}, set(self.required)
        if required != documented_required:
            differences.append(
                f"required params {_names(documented_required)} in the schemas, {_names(required)} in the signature"
            )
        if differences:
            raise _stale(self.action_name, "; ".join(differences))


def _read_document(action_name: str, schemas: Mapping[str, Any]) -> _Document:
    params, result = schemas.get("params"), schemas.get("result")
    if not isinstance(params, Mapping) or not isinstance(result, Mapping):
        raise _stale(action_name, "they need a params and a result schema")
    properties, required = params.get("properties"), params.get("required")
    if (
        params.get("type") != "object"
        or not isinstance(properties, Mapping)
        or not all(isinstance(v, Mapping) for v in properties.values())
        or not isinstance(required, list)
        or not all(isinstance(r, str) for r in required)
    ):
        raise _stale(action_name, "the params schema is not an object schema with properties and required")
    return _Document(
        action_name,
        {str(k): deepcopy(dict(v)) for k, v in properties.items()},
        list(required),
        deepcopy(dict(result)),
    )


def _stale(action_name: str, why: str) -> ActionDefinitionError:
    return ActionDefinitionError(
        f"action {action_name!r}: the precomputed schemas do not match the function ({why}); they are stale: "
        "rebuild the function (servey-faas --run=build)"
    )


def _names(names: set[str]) -> str:
    return "(" + ", ".join(sorted(names)) + ")" if names else "(none)"


def _identity(value: Any) -> Any:
    return value


#: Keys of a param schema that accept or refuse nothing (annotations and the default).
_ANNOTATIONS = frozenset({"type", "default", "description", "title", "examples"})
#: The Python types of JSON values each plain schema type surely accepts (bool is no integer in
#: JSON Schema; a float such as 2.0, which "integer" accepts too, is left to the validator).
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _plain_types(params: Iterable[Parameter]) -> dict[str, tuple[type, ...]] | None:
    """The exact types each param accepts, by name, when every param's schema is only a JSON type
    among string, integer, number and boolean (plus annotations); else None."""
    plain: dict[str, tuple[type, ...]] = {}
    for p in params:
        kind = p.schema.get("type")
        if not isinstance(kind, str) or kind not in _EXACT_TYPES or not p.schema.keys() <= _ANNOTATIONS:
            return None
        plain[p.name] = _EXACT_TYPES[kind]
    return plain


def _load_int(value: Any) -> Any:
    # JSON Schema's "integer" accepts 2.0; the function asked for an int, as marshy gives nested fields.
    return int(value) if isinstance(value, float) else value


_JSON_NATIVE = (str, int, float, bool, type(None))


def _to_json(codec: TypeCodec, value: Any, type_: Any) -> Any:
    if isinstance(value, _JSON_NATIVE) or (isinstance(value, (list, dict)) and _is_json(value)):
        return value
    return codec.dump(value, type_)


def _is_json(value: Any) -> bool:
    if isinstance(value, _JSON_NATIVE):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _field_errors(error: SchemaError) -> list[FieldError]:
    """Turn one jsonschema error into field errors whose location names the field itself."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [r for r in required if isinstance(error.instance, dict) and r not in error.instance]
        named = [r for r in missing if repr(r) in error.message] or missing[:1]
        return [FieldError((*path, r), "field required") for r in named]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(k for k in error.instance if k not in known)
        return [FieldError((*path, k), "unexpected field") for k in extra]
    if error.validator == "type" and error.instance is None:
        return [FieldError(path, "must not be null")]
    if error.context:
        from jsonschema.exceptions import best_match

        # For Optional[X] the "is not of type 'null'" branch never explains anything.
        relevant = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        best = best_match(relevant or error.context)
        if best is not None:
            return _field_errors(best)  # its absolute_path includes this error's path
    return [FieldError(path, error.message)]
