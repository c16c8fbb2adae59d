"""The OpenFaaS packager: one build context per action (plus the API router), and ``stack.yml``.

``build(app, options)`` writes, under ``options.output_dir``::

    stack.yml                       faas-cli stack file, one entry per function
    build/<function>/               faas-cli shrinkwrap layout, ``lang: dockerfile``:
        Dockerfile                  of-watchdog http mode, python3-http equivalent
        .dockerignore
        template.yml                language, fprocess
        index.py                    the entrypoint (fprocess ``python index.py``)
        schemas.json                the action's params and result schemas (every action's for the
                                    router), so that the function does not generate them at start-up
        openapi.json, routes.json   the router's OpenAPI document and REST routes (router only)
        requirements.txt            servey_faas's runtime dependencies (from its installed metadata)
        servey_faas/                servey_faas itself, so the image builds from the context alone
        function/requirements.txt   the app's own dependencies (``BuildOptions.requirements``)
        function/<actions>/         the app's actions package (or module), and ``copy`` paths

The stack file and the layout are faas-cli's (``docs/openfaas.md#stack-file-fields``,
``docs/openfaas.md#shrinkwrap-layout``); each context is the equivalent of the python3-http template
(``docs/openfaas.md#the-python3-http-template``) with of-watchdog in http mode
(``docs/openfaas.md#of-watchdog-in-http-mode``).

Everything is deterministic: the same app and options give byte-identical files (sorted walks,
no timestamps), and each context's ``content_hash`` (sha256 over its paths and bytes) tags its
image. ``servey_faas`` is copied as source (not a wheel): it is pure Python, the copy needs no
build step and no mtime normalisation, and ``index.py`` imports it from the context's root. An
action's function gets the core, web and faas layers without the docs assets, the command line,
the schedulers and the pytest plugin, and its ``requirements.txt`` leaves out what only those
need (Swagger UI, croniter, Celery, strawberry); the router gets all of servey_faas.

Schedules become cron-connector annotations (``docs/openfaas.md#cron-connector``): a ``CronTrigger`` keeps its
expression (checked against robfig/cron's parser), a ``FixedRateTrigger`` maps to ``*/N`` only when N divides the hour
or the day, else ``@every`` (``docs/openfaas.md#fixed-rates-as-schedules``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from servey_faas.cron import ScheduleError, check_expression, fixed_rate_expression, go_duration
from servey_faas.errors import BuildError, ConfigurationError
from servey_faas.faas.client.models import FunctionDeployment, FunctionResources
from servey_faas.faas.deploy.keys import (
    FILE_VARIABLES,
    VALUE_VARIABLES,
    JwtKeySecret,
    KeyKind,
    check_kind,
    default_secret_name,
)
from servey_faas.faas.deploy.proxy import ROUTES_FILE, routes_json
from servey_faas.faas.deploy.stack import Stack, StackFunction
from servey_faas.faas.runtime import OPENAPI_FILE, SCHEMAS_FILE, app_schemas_json, schemas_json
from servey_faas.faas.wire import CRON_TOPIC, IN_CLUSTER_GATEWAY_URL
from servey_faas.naming import function_name
from servey_faas.triggers import CronTrigger, FixedRateTrigger

if TYPE_CHECKING:
    from servey_faas.action import Action
    from servey_faas.app import ServeyApp

#: The router function's name behind the prefix (README.md, "On OpenFaaS").
ROUTER_NAME = "api"
#: The watchdog's ``fprocess`` of every function (``docs/openfaas.md#the-python3-http-template``).
FPROCESS = "python index.py"
#: Seconds the watchdog's read/write timeouts exceed ``exec_timeout``, so that the watchdog's own
#: 504 answers before its HTTP server gives up (``docs/openfaas.md#watchdog-settings``).
TIMEOUT_MARGIN = 5.0
#: Environment keys servey_faas sets itself; ``environment`` options cannot set them.
RESERVED_ENVIRONMENT = frozenset(
    {"exec_timeout", "read_timeout", "write_timeout", "jwt_auth", "fprocess", "mode", "upstream_url"}
)
#: The JWT key settings: key material travels as an OpenFaaS secret, never in ``environment``.
KEY_ENVIRONMENT = frozenset({*VALUE_VARIABLES.values(), *FILE_VARIABLES.values()})
#: Runtime dependencies an action's function does not need: docs assets, schedulers, GraphQL, and
#: the dev server's stack (its server is waitress, servey_faas/faas/runtime/_server.py) and CLI.
_NOT_IN_ACTION_FUNCTIONS = frozenset(
    {"swagger-ui-bundle-v2", "croniter", "celery", "strawberry-graphql", "starlette", "uvicorn", "click", "rich"}
)
#: Parts of servey_faas an action's function never imports (``/``-separated, relative to the package).
_ACTION_FUNCTION_SKIPS = (
    "__main__.py",
    "cli",
    "scheduling",
    "testing",
    "web/static",
    "web/graphql",
    "faas/deploy",
    "faas/gateway",
)
_TEMPLATE_DIR = Path(__file__).parent / "template"
_STACK_HEADER = "Written by servey_faas --run=build"
_TEMPLATE_MARKER = b"language: servey-faas-python"
_REGISTRY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PYTHON_VERSION = re.compile(r"^3\.\d+(\.\d+)?$")

Progress = Callable[[str], None]


# --- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionOptions:
    """Deployment settings of a function; ``None`` or empty inherits (see :meth:`merged`).

    ``scale_min``/``scale_max`` (replicas, ≥ 1) and ``scale_zero`` become the labels
    ``com.openfaas.scale.min``/``.max``/``.zero``; ``limits``/``requests`` take memory and cpu
    (Kubernetes quantities such as ``"128Mi"``, ``"100m"``); ``secrets`` are names of existing
    OpenFaaS secrets, mounted as files (``docs/openfaas.md#secrets-as-files``); ``environment``, ``labels``,
    ``annotations`` and ``constraints`` are passed as given (``docs/openfaas.md#functiondeployment``).
    """

    scale_min: int | None = None
    scale_max: int | None = None
    scale_zero: bool | None = None
    limits: FunctionResources | None = None
    requests: FunctionResources | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()

    def merged(self, override: FunctionOptions) -> FunctionOptions:
        """``override`` over these options: its set scalars win, maps are merged (its keys win),
        lists are joined without repeats, resources merged field by field."""
        return FunctionOptions(
            scale_min=override.scale_min if override.scale_min is not None else self.scale_min,
            scale_max=override.scale_max if override.scale_max is not None else self.scale_max,
            scale_zero=override.scale_zero if override.scale_zero is not None else self.scale_zero,
            limits=_merge_resources(self.limits, override.limits),
            requests=_merge_resources(self.requests, override.requests),
            environment={**self.environment, **override.environment},
            secrets=_unique((*self.secrets, *override.secrets)),
            labels={**self.labels, **override.labels},
            annotations={**self.annotations, **override.annotations},
            constraints=_unique((*self.constraints, *override.constraints)),
        )


@dataclass(frozen=True)
class BuildOptions:
    """What ``--run=build`` writes and how the functions are deployed.

    ``output_dir`` gets ``stack.yml`` and ``build/<function>/``; ``prefix`` goes in front of every
    function name; ``registry`` prefixes images (``ghcr.io/acme`` → ``ghcr.io/acme/<fn>:<tag>``);
    ``namespace`` is the target namespace (None: the provider's default); ``gateway`` is written to
    ``provider.gateway``; ``function_auth`` sets ``jwt_auth=true`` on every function
    (``docs/openfaas.md#token-checks-in-of-watchdog``); ``router`` also packages the API router function
    ``f"{prefix}api"``.

    ``defaults`` apply to every function, ``functions`` (by action name; ``"api"`` for the router)
    over them. ``requirements`` are the app's own requirement lines (``function/requirements.txt``);
    ``copy`` are project-relative paths copied into ``function/`` beside the actions (faas-cli's
    ``configuration.copy``, ``docs/openfaas.md#shrinkwrap-layout``). ``python_version`` is the image's Python
    (``PYTHON_VERSION``); ``router_gateway`` is the gateway URL the router calls the functions through (the in-cluster
    address by default).

    ``jwt_key`` says what the end users' JWT key is (``secret``: an HMAC secret, ``public``: a PEM
    public key) and ``jwt_secret`` names the OpenFaaS secret holding it (default
    ``<prefix>jwt-<kind>-key``): every function that verifies bearer tokens lists that secret and
    reads the key from its file (:mod:`servey_faas.faas.deploy.keys`); key material never goes into
    ``stack.yml``.
    """

    output_dir: Path = Path("serverless")
    prefix: str = ""
    registry: str | None = None
    namespace: str | None = None
    gateway: str | None = None
    function_auth: bool = False
    router: bool = True
    defaults: FunctionOptions = field(default_factory=FunctionOptions)
    functions: Mapping[str, FunctionOptions] = field(default_factory=dict)
    requirements: tuple[str, ...] = ()
    copy: tuple[str, ...] = ()
    python_version: str = "3.12"
    router_gateway: str = IN_CLUSTER_GATEWAY_URL
    jwt_key: KeyKind = "secret"
    jwt_secret: str | None = None

    @property
    def key_secret(self) -> JwtKeySecret:
        """The secret holding the end users' JWT key (``jwt_secret``, else the default name)."""
        return JwtKeySecret(self.jwt_secret or default_secret_name(self.prefix, self.jwt_key), self.jwt_key)

    def for_function(self, key: str) -> FunctionOptions:
        """The options of the action (or ``"api"``) ``key``: ``defaults`` merged with ``functions[key]``."""
        override = self.functions.get(key) or self.functions.get(key.replace("_", "-"))
        return self.defaults.merged(override) if override is not None else self.defaults


@dataclass(frozen=True)
class BuiltFunction:
    """One function written by :func:`build`.

    ``name`` is its DNS-1123 name; ``action_name`` None for the router; ``context`` is
    ``output_dir / "build" / name``; ``content_hash`` the sha256 hex over the context's paths and
    bytes; ``deployment`` exactly what ``stack.yml`` says for it (image
    ``f"{registry}/{name}:{content_hash[:12]}"``, or ``f"{name}:{content_hash[:12]}"``).
    """

    name: str
    action_name: str | None
    context: Path
    content_hash: str
    deployment: FunctionDeployment


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` wrote: ``stack_file`` (``output_dir / "stack.yml"``) and the functions,
    actions by name first, the router last. ``warnings`` are things that will not work as the app
    declares them on some providers (they are also reported through ``progress``)."""

    stack_file: Path
    functions: tuple[BuiltFunction, ...]
    warnings: tuple[str, ...] = ()


# --- schedules (``docs/openfaas.md#cron-connector``)
# ------------------------------------------------------------------------------


def schedule_of(action: Action) -> str | None:
    """The cron-connector ``schedule`` annotation of ``action`` (``docs/openfaas.md#schedule-annotations``), None when
    it has no scheduled trigger.

    :raises BuildError: naming the action, for a schedule cron-connector cannot parse or keep, or
        for several different schedules (a function has one ``schedule`` annotation).
    """
    schedules: list[str] = []
    for trigger in action.triggers:
        try:
            if isinstance(trigger, FixedRateTrigger):
                schedule = fixed_rate_expression(trigger.interval)
            elif isinstance(trigger, CronTrigger):
                schedule = check_expression(trigger.expression)
            else:
                continue
        except ScheduleError as e:
            raise BuildError(f"action {action.name!r}: {e}") from e
        if schedule not in schedules:
            schedules.append(schedule)
    if len(schedules) > 1:
        raise BuildError(
            f"action {action.name!r} has {len(schedules)} schedules ({'; '.join(schedules)}): "
            "cron-connector takes one schedule annotation per function"
        )
    return schedules[0] if schedules else None


def function_timeouts(seconds: float) -> dict[str, str]:
    """The watchdog's timeouts for an upstream call of ``seconds`` (``docs/openfaas.md#watchdog-settings``):
    ``exec_timeout`` is ``seconds``; ``read_timeout`` and ``write_timeout`` are :data:`TIMEOUT_MARGIN` seconds more."""
    longer = go_duration(seconds + TIMEOUT_MARGIN)
    return {"exec_timeout": go_duration(seconds), "read_timeout": longer, "write_timeout": longer}


# --- build ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    name: str
    action: Action | None
    options: FunctionOptions
    schedule: str | None
    #: The function verifies end users' bearer tokens, so it gets the JWT key secret.
    reads_token: bool


def build(app: ServeyApp, options: BuildOptions, *, progress: Progress | None = None) -> BuildResult:
    """Write ``stack.yml`` and every build context for ``app``; deterministic (same app and options
    → byte-identical files). Each ``build/<function>/`` is deleted and recreated, as faas-cli's
    shrinkwrap does (``docs/openfaas.md#shrinkwrap-layout``); folders of functions the app no longer declares are
    removed. Folders and a stack file that servey_faas did not write are never deleted or overwritten.

    ``progress`` gets one line per step (default: nothing).

    :raises BuildError: naming the action or option at fault: a name that is no DNS-1123 label,
        two actions with one function name (or one named like the router), a schedule
        cron-connector cannot parse, a bad registry, scale, environment or secret option, an
        output folder servey_faas did not write, or a file that cannot be written.
    """
    say = progress or (lambda line: None)
    _check_options(options)
    planned, warnings = _plan(app, options)
    for warning in warnings:
        say(f"warning: {warning}")
    output = options.output_dir
    build_root = output / "build"
    stack_file = output / "stack.yml"
    _check_replaceable_stack(stack_file)
    requirements = _requirements()
    # Every file is made (and every input read) before anything is written or removed.
    contents = [(plan, _context_files(app, options, plan, requirements)) for plan in planned]
    for plan, _ in contents:
        _check_replaceable_context(build_root / plan.name)
    handler_base = Path(app.settings.project_dir)
    built: list[BuiltFunction] = []
    for plan, files in contents:
        digest = content_hash(files)
        deployment = _deployment(app, options, plan, digest)
        context = build_root / plan.name
        built.append(BuiltFunction(plan.name, plan.action.name if plan.action else None, context, digest, deployment))
    stack = Stack(
        tuple(StackFunction(b.deployment, _handler_path(b.context, handler_base)) for b in built),
        gateway=options.gateway,
        header=(
            f"{_STACK_HEADER} from the actions in {app.settings.action_path!r}; do not edit.",
            f"Run faas-cli from the project folder: faas-cli up -f {_display(stack_file, handler_base)}",
        ),
    )
    stack_text = stack.dump()
    _remove_stale(build_root, {p.name for p in planned}, say)
    for fn, (plan, files) in zip(built, contents, strict=True):
        _write_context(fn.context, files)
        what = f"action {plan.action.name}" if plan.action is not None else "the API router"
        say(f"built {fn.name} ({what}): {fn.context} [{len(files)} files, image {fn.deployment.image}]")
    _write_bytes(stack_file, stack_text.encode("utf-8"))
    say(f"wrote {stack_file} ({len(built)} functions)")
    return BuildResult(stack_file, tuple(built), tuple(warnings))


def content_hash(files: Mapping[str, bytes]) -> str:
    """The sha256 hex of a build context given as ``{posix relative path: bytes}``: over each file,
    sorted by path, its path, a NUL, its length (8 bytes big-endian) and its bytes."""
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        digest.update(path.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def context_files(context: Path) -> dict[str, bytes]:
    """The files of a build context folder as ``{posix relative path: bytes}`` (for
    :func:`content_hash` of a context on disk)."""
    return {
        path.relative_to(context).as_posix(): path.read_bytes() for path in sorted(context.rglob("*")) if path.is_file()
    }


def _check_options(options: BuildOptions) -> None:
    if options.registry is not None and not _REGISTRY.match(options.registry.rstrip("/")):
        raise BuildError(
            f"registry {options.registry!r} is not an image prefix such as ghcr.io/acme (lower case, no tag)"
        )
    if not _PYTHON_VERSION.match(options.python_version):
        raise BuildError(f"python_version {options.python_version!r} is not a version such as 3.12")
    if options.namespace is not None and not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options.namespace):
        raise BuildError(f"namespace {options.namespace!r} is not a DNS-1123 label")
    for line in options.requirements:
        if not line.strip() or "\n" in line:
            raise BuildError(f"requirement {line!r} must be one non-empty line")


def _plan(app: ServeyApp, options: BuildOptions) -> tuple[list[_Planned], list[str]]:
    planned: list[_Planned] = []
    warnings: list[str] = []
    owners: dict[str, str] = {}
    for action in app.actions.values():
        try:
            name = function_name(action.name, options.prefix)
        except ConfigurationError as e:
            raise BuildError(str(e)) from e
        if name in owners:
            raise BuildError(f"actions {owners[name]!r} and {action.name!r} both become function {name!r}")
        owners[name] = action.name
        fn_options = options.for_function(action.name)
        _check_function_options(action.name, fn_options)
        schedule = schedule_of(action)
        if schedule is not None and options.function_auth:
            warnings.append(
                f"action {action.name!r} is scheduled, but with function auth (jwt_auth=true) the CE "
                "cron-connector's calls carry no token and get 401"
            )
        planned.append(_Planned(name, action, fn_options, schedule, app.invokers[action.name].reads_token))
    planned.sort(key=lambda p: p.name)
    if options.router:
        try:
            name = function_name(ROUTER_NAME, options.prefix)
        except ConfigurationError as e:
            raise BuildError(str(e)) from e
        if name in owners:
            raise BuildError(
                f"action {owners[name]!r} becomes function {name!r}, the API router's name: "
                "rename the action, or build with --no-router"
            )
        router_options = options.for_function(ROUTER_NAME)
        _check_function_options(ROUTER_NAME, router_options)
        router_reads_token = any(p.reads_token for p in planned)
        planned.append(_Planned(name, None, router_options, None, router_reads_token))
    if not planned:
        raise BuildError(f"there is nothing to build: no actions in {app.settings.action_path!r} and no router")
    unknown = sorted(k for k in options.functions if k.replace("-", "_") not in app.actions and k != ROUTER_NAME)
    if unknown:
        raise BuildError(f"options name functions the app does not have: {', '.join(unknown)}")
    secret = options.key_secret.name
    if any(p.reads_token for p in planned) and (len(secret) > 253 or not _DNS_1123_SUBDOMAIN.match(secret)):
        raise BuildError(f"jwt_secret {secret!r} is not a valid secret name (DNS-1123 subdomain)")
    return planned, warnings


def _check_function_options(key: str, o: FunctionOptions) -> None:
    where = f"function {key!r}"
    for label, count in (("scale_min", o.scale_min), ("scale_max", o.scale_max)):
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise BuildError(f"{where}: {label} must be a whole number of replicas >= 1, not {count!r}")
    if o.scale_min is not None and o.scale_max is not None and o.scale_min > o.scale_max:
        raise BuildError(f"{where}: scale_min {o.scale_min} is above scale_max {o.scale_max}")
    for env_key, value in o.environment.items():
        if not _ENV_NAME.match(env_key) or not isinstance(value, str):
            raise BuildError(f"{where}: environment {env_key!r} must be a variable name with a string value")
        if env_key in RESERVED_ENVIRONMENT:
            raise BuildError(
                f"{where}: environment {env_key!r} is set by servey_faas (timeouts come from the action's "
                "timeout, jwt_auth from --function-auth)"
            )
        if env_key in KEY_ENVIRONMENT:
            raise BuildError(
                f"{where}: environment {env_key!r}: the JWT key never goes into stack.yml; it travels as an "
                "OpenFaaS secret that servey_faas lists for the functions verifying tokens (name it with "
                'jwt_secret, say jwt_key = "public" for a public key; --run=deploy creates it from '
                "JWT_SECRET_KEY[_FILE] or JWT_PUBLIC_KEY[_FILE])"
            )
    for secret in o.secrets:
        if len(secret) > 253 or not _DNS_1123_SUBDOMAIN.match(secret):
            raise BuildError(f"{where}: secret {secret!r} is not a valid secret name (DNS-1123 subdomain)")
    for kind, values in (("labels", o.labels), ("annotations", o.annotations)):
        for k, v in values.items():
            if not k or not isinstance(v, str):
                raise BuildError(f"{where}: {kind} need non-empty keys and string values ({k!r}: {v!r})")
    for kind, resources in (("limits", o.limits), ("requests", o.requests)):
        if resources is not None and (resources.nvidia_gpu or resources.amd_gpu or resources.intel_gpu):
            raise BuildError(f"{where}: {kind} in a stack file take memory and cpu only")


def _deployment(app: ServeyApp, options: BuildOptions, plan: _Planned, digest: str) -> FunctionDeployment:
    o = plan.options
    image = f"{plan.name}:{digest[:12]}"
    if options.registry:
        image = f"{options.registry.rstrip('/')}/{image}"
    if plan.action is not None:
        env = function_timeouts(plan.action.timeout)
    else:
        slowest = max((a.timeout for a in app.actions.values()), default=30.0)
        env = function_timeouts(slowest + TIMEOUT_MARGIN)
        env["SERVEY_ROUTER_MODE"] = "gateway"
        if options.function_auth:
            env["SERVEY_FUNCTION_AUTH"] = "true"
    # Every function can call the others through the gateway: the router, and background channels
    # of any action (servey_faas.scheduling.channels.default_backend) need to name them.
    env["OPENFAAS_URL"] = options.router_gateway
    if options.prefix:
        env["SERVEY_FUNCTION_PREFIX"] = options.prefix
    if options.namespace:
        env["SERVEY_FUNCTION_NAMESPACE"] = options.namespace
    if options.function_auth and plan.action is not None:
        # The action functions only answer callers with a scoped function token (of-watchdog,
        # ``docs/openfaas.md#token-checks-in-of-watchdog``). The router is the app's public entrypoint: it verifies end
        # users' bearer tokens itself and calls the actions with function tokens (SERVEY_FUNCTION_AUTH above); behind
        # jwt_auth it would take its own function token for the end user's.
        env["jwt_auth"] = "true"
    secrets = o.secrets
    if plan.reads_token:
        key_secret = options.key_secret
        env.update(key_secret.environment())
        secrets = _unique((*secrets, key_secret.name))
    env.update(o.environment)
    labels = dict(o.labels)
    if o.scale_min is not None:
        labels["com.openfaas.scale.min"] = str(o.scale_min)
    if o.scale_max is not None:
        labels["com.openfaas.scale.max"] = str(o.scale_max)
    if o.scale_zero is not None:
        labels["com.openfaas.scale.zero"] = "true" if o.scale_zero else "false"
    annotations = dict(o.annotations)
    if plan.schedule is not None:
        annotations.update({"topic": CRON_TOPIC, "schedule": plan.schedule})
    return FunctionDeployment(
        service=plan.name,
        image=image,
        namespace=options.namespace or "",
        env_process=FPROCESS,
        env_vars={k: env[k] for k in sorted(env)},
        constraints=o.constraints,
        secrets=secrets,
        labels={k: labels[k] for k in sorted(labels)} or None,
        annotations={k: annotations[k] for k in sorted(annotations)} or None,
        limits=o.limits if o.limits is not None and o.limits.to_wire() else None,
        requests=o.requests if o.requests is not None and o.requests.to_wire() else None,
    )


# --- build context files -------------------------------------------------------------------------


def _context_files(
    app: ServeyApp, options: BuildOptions, plan: _Planned, requirements: list[tuple[str, str]]
) -> dict[str, bytes]:
    is_router = plan.action is None
    files: dict[str, bytes] = {}
    # The COPY line names the files there are (a glob that may match nothing is an error for some builders).
    entrypoint_files = f"index.py template.yml {SCHEMAS_FILE}" + (f" {OPENAPI_FILE} {ROUTES_FILE}" if is_router else "")
    dockerfile = (
        _template("Dockerfile")
        .replace("{{PYTHON_VERSION}}", options.python_version)
        .replace("{{ENTRYPOINT_FILES}}", entrypoint_files)
    )
    files["Dockerfile"] = dockerfile.encode()
    files[".dockerignore"] = _template("dockerignore").encode()
    files["template.yml"] = _template("template.yml").encode()
    if plan.action is None:
        index = _template("router_index.py.in").format(
            function=plan.name,
            actions_name=app.settings.action_path,
            actions=_literal(app.settings.action_path),
            prefix=_literal(options.prefix),
        )
        from servey_faas.web.openapi import openapi_bytes

        files[SCHEMAS_FILE] = app_schemas_json({name: i.schema_document for name, i in app.invokers.items()})
        files[OPENAPI_FILE] = openapi_bytes(app)
        files[ROUTES_FILE] = routes_json(app.invokers)
    else:
        module, attribute = _action_location(plan.action)
        index = _template("index.py.in").format(
            function=plan.name, action=plan.action.name, module=_literal(module), attribute=_literal(attribute)
        )
        files[SCHEMAS_FILE] = schemas_json(plan.action.name, app.invokers[plan.action.name].schema_document)
    files["index.py"] = index.encode()
    lines = [req for name, req in requirements if is_router or name not in _NOT_IN_ACTION_FUNCTIONS]
    files["requirements.txt"] = _requirements_text(
        "servey_faas's runtime dependencies" + ("" if is_router else " (those an action's function imports)"),
        lines,
    )
    files["function/requirements.txt"] = _requirements_text(
        "the app's own dependencies ([tool.servey_faas.build] requirements)", list(options.requirements)
    )
    import servey_faas

    package_root = Path(servey_faas.__file__).parent
    skips = () if is_router else _ACTION_FUNCTION_SKIPS
    for rel, data in _tree(package_root, skips):
        files[f"servey_faas/{rel}"] = data
    for rel, data in _action_sources(app):
        files[f"function/{rel}"] = data
    project = Path(app.settings.project_dir)
    for extra in options.copy:
        for rel, data in _copied(project, extra):
            target = f"function/{rel}"
            if target in files:
                raise BuildError(f"copy path {extra!r}: {target} is already in the build context")
            files[target] = data
    return files


def _template(name: str) -> str:
    try:
        return (_TEMPLATE_DIR / name).read_text(encoding="utf-8")
    except OSError as e:
        raise BuildError(f"the function template file {name} is missing from servey_faas: {e}") from e


def _literal(text: str) -> str:
    """A Python string literal of ``text`` (JSON's escapes are all valid in Python)."""
    return json.dumps(text)


def _requirements_text(what: str, lines: list[str]) -> bytes:
    header = f"# {what}; written by servey_faas --run=build.\n"
    return (header + "".join(f"{line.strip()}\n" for line in lines)).encode()


def _requirements() -> list[tuple[str, str]]:
    """``(normalised name, requirement)`` of servey_faas's runtime dependencies (no extras), in
    the order its metadata lists them."""
    from importlib import metadata

    try:
        requires = metadata.requires("servey_faas") or []
    except metadata.PackageNotFoundError as e:
        raise BuildError("servey_faas is not installed (pip install servey_faas): its dependencies are unknown") from e
    found: list[tuple[str, str]] = []
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if m is None:
            continue
        found.append((re.sub(r"[-_.]+", "-", m.group(1)).lower(), requirement.strip()))
    return found


def _action_location(action: Action) -> tuple[str, str]:
    """``(module, attribute)`` under which the action's function is importable."""
    fn = action.fn
    module_name = getattr(fn, "__module__", None)
    module = sys.modules.get(module_name or "")
    if module is None or module_name is None:
        raise BuildError(f"action {action.name!r}: its module {module_name!r} is not imported")
    attributes = sorted(k for k, v in vars(module).items() if v is fn)
    preferred = getattr(fn, "__name__", None)
    if preferred in attributes:
        return module_name, str(preferred)
    if not attributes:
        raise BuildError(f"action {action.name!r} is not a module-level name of {module_name}")
    return module_name, attributes[0]


def _action_sources(app: ServeyApp) -> Iterator[tuple[str, bytes]]:
    """The app's actions package (or module) as ``(path under function/, bytes)``."""
    top = app.settings.action_path.split(".")[0]
    module = sys.modules.get(top)
    if module is None:
        raise BuildError(f"the actions module {top!r} is not imported (load the app first)")
    paths = list(getattr(module, "__path__", None) or [])
    if paths:
        seen: set[str] = set()
        for folder in sorted(paths):
            for rel, data in _tree(Path(folder), ()):
                if rel in seen:
                    raise BuildError(f"the actions package {top!r} has {rel} in two folders")
                seen.add(rel)
                yield f"{top}/{rel}", data
        return
    file = getattr(module, "__file__", None)
    if not file:
        raise BuildError(f"the actions module {top!r} has no source file to copy")
    yield Path(file).name, Path(file).read_bytes()


def _copied(project: Path, extra: str) -> Iterator[tuple[str, bytes]]:
    rel = PurePosixPath(extra)
    root = project.resolve()
    source = (project / extra).resolve()
    if rel.is_absolute() or ".." in rel.parts or source == root or not source.is_relative_to(root):
        raise BuildError(f"copy path {extra!r} must be inside the project folder and not the folder itself")
    if source.is_file():
        yield rel.as_posix(), source.read_bytes()
    elif source.is_dir():
        for sub, data in _tree(source, ()):
            yield f"{rel.as_posix()}/{sub}", data
    else:
        raise BuildError(f"copy path {extra!r} does not exist in {project}")


def _tree(root: Path, skips: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """Files under ``root`` in sorted order as ``(posix relative path, bytes)``, without bytecode
    caches, hidden files and the ``skips`` (relative paths of files or folders)."""
    skipped = set(skips)
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        rel_base = base.relative_to(root).as_posix()
        prefix = "" if rel_base == "." else f"{rel_base}/"
        dirs[:] = sorted(
            d for d in dirs if d != "__pycache__" and not d.startswith(".") and f"{prefix}{d}" not in skipped
        )
        for name in sorted(names):
            rel = f"{prefix}{name}"
            if name.startswith(".") or name.endswith((".pyc", ".pyo")) or rel in skipped:
                continue
            yield rel, (base / name).read_bytes()


def _is_ours(context: Path) -> bool:
    try:
        return _TEMPLATE_MARKER in (context / "template.yml").read_bytes()
    except OSError:
        return False


def _remove_stale(build_root: Path, keep: set[str], say: Progress) -> None:
    if not build_root.is_dir():
        return
    for entry in sorted(build_root.iterdir()):
        if entry.name in keep or not entry.is_dir():
            continue
        if _is_ours(entry):
            shutil.rmtree(entry)
            say(f"removed {entry} (the app no longer declares function {entry.name})")


def _check_replaceable_context(context: Path) -> None:
    if context.exists() and (not context.is_dir() or (any(context.iterdir()) and not _is_ours(context))):
        raise BuildError(f"{context} exists and was not written by servey_faas: refusing to replace it")


def _write_context(context: Path, files: Mapping[str, bytes]) -> None:
    _check_replaceable_context(context)
    if context.exists():
        shutil.rmtree(context)
    for rel in sorted(files):
        _write_bytes(context / rel, files[rel])


def _check_replaceable_stack(stack_file: Path) -> None:
    try:
        head = stack_file.read_bytes()[:200]
    except FileNotFoundError:
        return
    except OSError as e:
        raise BuildError(f"cannot read {stack_file}: {e.strerror or e}") from e
    if _STACK_HEADER.encode() not in head:
        raise BuildError(f"{stack_file} exists and was not written by servey_faas: refusing to overwrite it")


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_bytes(data)
        path.chmod(0o644)
    except OSError as e:
        raise BuildError(f"cannot write {path}: {e.strerror or e}") from e


def _handler_path(context: Path, project: Path) -> str:
    """``context`` relative to the project folder (where faas-cli runs), as ``./a/b``."""
    rel = os.path.relpath(context.resolve(), project.resolve())
    posix = PurePosixPath(Path(rel).as_posix())
    return posix.as_posix() if posix.as_posix().startswith("..") else f"./{posix.as_posix()}"


def _display(path: Path, project: Path) -> str:
    return _handler_path(path, project).removeprefix("./")


def _merge_resources(base: FunctionResources | None, override: FunctionResources | None) -> FunctionResources | None:
    if override is None:
        return base
    if base is None:
        return override
    return FunctionResources(
        **{f.name: getattr(override, f.name) or getattr(base, f.name) for f in fields(FunctionResources)}
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# --- [tool.servey_faas.build] --------------------------------------------------------------------

_FUNCTION_KEYS = {f.name for f in fields(FunctionOptions)}
_BUILD_KEYS = {
    "output_dir",
    "registry",
    "namespace",
    "gateway",
    "function_auth",
    "router",
    "requirements",
    "copy",
    "python_version",
    "router_gateway",
    "jwt_key",
    "jwt_secret",
    "functions",
}


def read_build_table(project_dir: Path) -> Mapping[str, Any]:
    """``[tool.servey_faas.build]`` of ``project_dir/pyproject.toml`` (empty when absent).

    :raises BuildError: for an unreadable file or a ``build`` that is not a table.
    """
    path = project_dir / "pyproject.toml"
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise BuildError(f"cannot read {path}: {e}") from e
    table = data.get("tool", {}).get("servey_faas", {}).get("build", {})
    if not isinstance(table, dict):
        raise BuildError(f"{path}: [tool.servey_faas.build] must be a table")
    return table


def options_from_table(table: Mapping[str, Any], where: str = "[tool.servey_faas.build]") -> dict[str, Any]:
    """:class:`BuildOptions` keyword arguments from a ``[tool.servey_faas.build]`` table: the
    :class:`BuildOptions` keys, :class:`FunctionOptions` keys (the ``defaults``), and
    ``functions.<action name or "api">`` tables of :class:`FunctionOptions` keys. ``limits`` and
    ``requests`` are tables of ``memory`` and ``cpu``.

    :raises BuildError: naming the key that is unknown or has the wrong type.
    """
    unknown = sorted(set(table) - _BUILD_KEYS - _FUNCTION_KEYS)
    if unknown:
        raise BuildError(f"{where}: unknown keys {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for key in ("registry", "namespace", "gateway", "python_version", "router_gateway", "jwt_secret"):
        if key in table:
            kwargs[key] = _typed(table[key], str, f"{where} {key}")
    if "jwt_key" in table:
        try:
            kwargs["jwt_key"] = check_kind(_typed(table["jwt_key"], str, f"{where} jwt_key"), f"{where} jwt_key")
        except ConfigurationError as e:
            raise BuildError(str(e)) from e
    if "output_dir" in table:
        kwargs["output_dir"] = Path(_typed(table["output_dir"], str, f"{where} output_dir"))
    for key in ("function_auth", "router"):
        if key in table:
            kwargs[key] = _typed(table[key], bool, f"{where} {key}")
    for key in ("requirements", "copy"):
        if key in table:
            kwargs[key] = _strings(table[key], f"{where} {key}")
    kwargs["defaults"] = _function_options({k: v for k, v in table.items() if k in _FUNCTION_KEYS}, where)
    functions = table.get("functions", {})
    if not isinstance(functions, dict):
        raise BuildError(f"{where} functions must be a table of tables")
    kwargs["functions"] = {
        str(name): _function_options(_typed(sub, dict, f"{where} functions.{name}"), f"{where} functions.{name}")
        for name, sub in functions.items()
    }
    return kwargs


def _function_options(table: Mapping[str, Any], where: str) -> FunctionOptions:
    unknown = sorted(set(table) - _FUNCTION_KEYS)
    if unknown:
        raise BuildError(f"{where}: unknown keys {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for key in ("scale_min", "scale_max"):
        if key in table:
            kwargs[key] = _typed(table[key], int, f"{where} {key}")
    if "scale_zero" in table:
        kwargs["scale_zero"] = _typed(table["scale_zero"], bool, f"{where} scale_zero")
    for key in ("limits", "requests"):
        if key in table:
            value = _typed(table[key], dict, f"{where} {key}")
            extra = sorted(set(value) - {"memory", "cpu"})
            if extra:
                raise BuildError(f"{where} {key}: memory and cpu only, not {', '.join(extra)}")
            kwargs[key] = FunctionResources(**{k: _typed(v, str, f"{where} {key}.{k}") for k, v in value.items()})
    for key in ("environment", "labels", "annotations"):
        if key in table:
            value = _typed(table[key], dict, f"{where} {key}")
            kwargs[key] = {str(k): _typed(v, str, f"{where} {key}.{k}") for k, v in value.items()}
    for key in ("secrets", "constraints"):
        if key in table:
            kwargs[key] = _strings(table[key], f"{where} {key}")
    return FunctionOptions(**kwargs)


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BuildError(f"{where} must be {'a table' if kind is dict else kind.__name__}, not {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildError(f"{where} must be a list of strings, not {value!r}")
    return tuple(value)
