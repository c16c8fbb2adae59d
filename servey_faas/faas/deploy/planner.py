"""Deploy planning: compare the app's functions with what the gateway runs, and list the steps.

A deploy you can read before it runs (as Chalice's ``dev plan``): :func:`plan_deploy` turns a
packaged app (:class:`~servey_faas.faas.deploy.packager.BuildResult`) and the gateway's
``GET /system/functions`` and ``GET /system/secrets`` into a :class:`Plan`, a tuple of steps,
each a frozen value carrying its own progress :attr:`message`. Nothing is changed while
planning. :mod:`servey_faas.faas.deploy.executor` applies a plan (or only prints it, for ``--dry-run``).

Steps come in this order, so that no function is deployed before what it needs:

1. :class:`CreateSecret` for each secret a function names and the gateway lacks (``docs/openfaas.md#secrets-as-files``),
   :class:`UpdateSecret` for one whose value the deploy sets although it exists (the JWT key);
2. :class:`BuildImage` for every function that is new or changed (all builds before any deploy,
   so a failed build leaves the gateway untouched);
3. :class:`DeployFunction` (``create`` or ``update``; either is sent as faas-cli does,
   ``docs/openfaas.md#what-faas-cli-deploy-sends``), or :class:`KeepFunction` when the gateway already runs exactly this
   spec;
4. :class:`WaitForReady` until each deployed function reports an available replica
   (``docs/openfaas.md#functionstatus``);
5. :class:`RemoveFunction` for functions this app deployed earlier and no longer declares
   (``prune=True``).

**Ownership.** Every function servey_faas deploys carries the label ``com.servey-faas.app=<app
id>`` (:data:`APP_LABEL`); pruning and ``--run=remove`` only ever touch functions with this
app's label, and a deploy refuses to replace a function labelled for another app.

**Unchanged.** Every deployment also carries the annotation ``com.servey-faas.spec`` (:data:`SPEC_ANNOTATION`):
the SHA-256 of the rest of the deployment's JSON body. Providers add labels, annotations and
defaults of their own to what they report, so comparing field by field cannot tell "unchanged"
reliably; the annotation can. The image tag is the build context's content hash, so an
unchanged spec means an unchanged image, and the function is neither rebuilt nor redeployed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TypeAlias

from servey_faas.errors import ConfigurationError, DeployError
from servey_faas.faas.client import (
    DEFAULT_GATEWAY_URL,
    GatewayConnectionError,
    GatewayForbiddenError,
    GatewayStatusError,
    GatewayUnauthorizedError,
    normalize_gateway_url,
)
from servey_faas.faas.client.models import FunctionDeployment, FunctionStatus, Secret

if TYPE_CHECKING:
    from servey_faas.faas.client import GatewayClient
    from servey_faas.faas.deploy.builders.base import Builder
    from servey_faas.faas.deploy.packager import BuildResult, BuiltFunction

#: The label naming the app that deployed a function (a Kubernetes label value).
APP_LABEL = "com.servey-faas.app"
#: The annotation holding the SHA-256 (hex) of the deployed spec, without this annotation.
SPEC_ANNOTATION = "com.servey-faas.spec"
#: A secret without ``--secret`` takes its value from ``SERVEY_FAAS_SECRET_<NAME>`` (upper case,
#: ``-`` and ``.`` as ``_``).
SECRET_ENV_PREFIX = "SERVEY_FAAS_SECRET_"  # noqa: S105 (a variable name prefix, not a password)
#: How long (seconds) a deploy waits, by default, for its functions to report a ready replica.
DEFAULT_WAIT_TIMEOUT = 120.0

# A Kubernetes label value: at most 63 characters, alphanumerics at both ends, '-', '_', '.' inside.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


# --- steps ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SecretStep:
    """A secret to write: ``source`` says where the value came from (``env VAR``, ``file PATH``);
    the value itself is never shown (:class:`~servey_faas.faas.Secret` keeps it out of ``repr``)."""

    secret: Secret
    source: str
    verb: ClassVar[str]

    @property
    def target(self) -> str:
        return self.secret.name

    @property
    def message(self) -> str:
        return f"{self.verb} secret {self.secret.name}{_in(self.secret.namespace)} (value from {self.source})"


class CreateSecret(_SecretStep):
    """POST ``/system/secrets`` for a secret a function names and the gateway lacks
    (``docs/openfaas.md#secrets-as-files``)."""

    verb = "create"


class UpdateSecret(_SecretStep):
    """PUT ``/system/secrets``: give the existing secret the value from ``source`` (the end users'
    JWT key, which the deploy always writes). Functions read a secret's file when they start."""

    verb = "update"


@dataclass(frozen=True)
class BuildImage:
    """Build ``image`` from ``function``'s build context with the builder called ``builder``."""

    function: BuiltFunction
    image: str
    builder: str
    stack_file: Path

    @property
    def target(self) -> str:
        return self.function.name

    @property
    def message(self) -> str:
        return f"build {self.function.name} → {self.image} ({self.builder})"


@dataclass(frozen=True)
class DeployFunction:
    """Send ``deployment``: PUT ``/system/functions``, then POST on 404, as faas-cli does
    (``docs/openfaas.md#what-faas-cli-deploy-sends``).

    ``change`` is what the plan expects (``create``: the gateway has no such function;
    ``update``: it has one with another spec); ``reasons`` say what differs for an update.
    """

    deployment: FunctionDeployment
    change: Literal["create", "update"]
    reasons: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return self.deployment.service

    @property
    def message(self) -> str:
        why = f" ({'; '.join(self.reasons)})" if self.reasons else ""
        return f"{self.change} function {self.deployment.service}{_in(self.deployment.namespace)}{why}"


@dataclass(frozen=True)
class KeepFunction:
    """Nothing to do: the gateway already runs this exact spec of ``name``."""

    name: str
    namespace: str
    image: str

    @property
    def target(self) -> str:
        return self.name

    @property
    def message(self) -> str:
        return f"function {self.name}{_in(self.namespace)} unchanged ({self.image})"


@dataclass(frozen=True)
class WaitForReady:
    """Poll GET ``/system/function/{name}`` until each of ``functions`` (``(name, namespace)``
    pairs) reports ``availableReplicas ≥ 1`` (``docs/openfaas.md#functionstatus``), for at most ``timeout`` seconds."""

    functions: tuple[tuple[str, str], ...]
    timeout: float

    @property
    def target(self) -> str:
        return ", ".join(name for name, _ in self.functions)

    @property
    def message(self) -> str:
        return f"wait until {self.target} report an available replica (up to {self.timeout:g} s)"


@dataclass(frozen=True)
class RemoveFunction:
    """DELETE ``/system/functions`` for ``name``; a 404 means it is gone already (not an error)."""

    name: str
    namespace: str
    reason: str

    @property
    def target(self) -> str:
        return self.name

    @property
    def message(self) -> str:
        return f"remove function {self.name}{_in(self.namespace)} ({self.reason})"


@dataclass(frozen=True)
class SkipFunction:
    """Nothing to do for ``name``, for ``reason`` (not deployed; owned by another app)."""

    name: str
    namespace: str
    reason: str

    @property
    def target(self) -> str:
        return self.name

    @property
    def message(self) -> str:
        return f"function {self.name}{_in(self.namespace)}: {self.reason}"


#: One step of a plan.
Step: TypeAlias = (
    CreateSecret
    | UpdateSecret
    | BuildImage
    | DeployFunction
    | KeepFunction
    | WaitForReady
    | RemoveFunction
    | SkipFunction
)


def _in(namespace: str) -> str:
    return f" in {namespace}" if namespace else ""


@dataclass(frozen=True)
class Plan:
    """The steps of a deploy or a removal, against ``gateway``, in the order they run; ``notes``
    are what the plan could not know or check (an unreachable gateway, a missing registry)."""

    gateway: str
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    def count(self, kind: type[Step] | tuple[type[Step], ...]) -> int:
        return sum(1 for step in self.steps if isinstance(step, kind))

    @property
    def summary(self) -> str:
        """Function counts in one line, e.g. ``2 to create, 1 to update, 1 unchanged, 1 to remove,
        1 secret to create`` (zero counts left out; ``nothing to do`` when all are zero)."""
        deploys = [s for s in self.steps if isinstance(s, DeployFunction)]
        parts = [
            (sum(1 for s in deploys if s.change == "create"), "to create"),
            (sum(1 for s in deploys if s.change == "update"), "to update"),
            (self.count(KeepFunction), "unchanged"),
            (self.count(RemoveFunction), "to remove"),
            (self.count(SkipFunction), "left alone"),
        ]
        text = [f"{n} {what}" for n, what in parts if n]
        for kind, verb in ((CreateSecret, "create"), (UpdateSecret, "update")):
            secrets = self.count(kind)
            if secrets:
                text.append(f"{secrets} secret{'s' if secrets != 1 else ''} to {verb}")
        return ", ".join(text) or "nothing to do"

    def lines(self) -> list[str]:
        """The plan as text: a heading with the gateway and :attr:`summary`, the notes, then one
        indented line per step."""
        return [
            f"Plan for {self.gateway}: {self.summary}",
            *(f"  note: {note}" for note in self.notes),
            *(f"  {step.message}" for step in self.steps),
        ]


# --- ownership and specs -------------------------------------------------------------------------


def check_app_id(app_id: str) -> str:
    """``app_id`` unchanged when it can be a label value (≤ 63 characters, alphanumerics at both
    ends, ``-``, ``_``, ``.`` inside).

    :raises ConfigurationError: otherwise.
    """
    if not _LABEL_VALUE.match(app_id):
        raise ConfigurationError(
            f"app id {app_id!r} cannot be a label value: at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return app_id


def default_app_id(project_dir: Path, prefix: str = "") -> str:
    """The app id when none is given: ``prefix`` followed by ``[project] name`` of
    ``project_dir/pyproject.toml`` (else the folder's name), made a label value (lower case,
    other characters as ``-``, at most 63). The prefix is part of it, so two deployments of one
    app under different prefixes never prune each other's functions."""
    name = ""
    with contextlib.suppress(OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        with (project_dir / "pyproject.toml").open("rb") as f:
            project = tomllib.load(f).get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str):
            name = project["name"]
    name = name or project_dir.resolve().name
    value = re.sub(r"[^a-z0-9_.-]+", "-", f"{prefix}{name}".lower())[:63]
    value = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", value)
    return value or "app"


def spec_hash(deployment: FunctionDeployment) -> str:
    """SHA-256 (hex) of the deployment's JSON body (wire names, keys sorted) without
    :data:`SPEC_ANNOTATION` (and without ``annotations`` when that was the only one)."""
    wire = deployment.to_wire()
    annotations = wire.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(SPEC_ANNOTATION, None)
        if not annotations:  # what is sent always has the annotation: None and {} are the same here
            del wire["annotations"]
    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def owned(deployment: FunctionDeployment, app_id: str) -> FunctionDeployment:
    """``deployment`` with ``labels[APP_LABEL] = app_id`` and ``annotations[SPEC_ANNOTATION]``
    set to :func:`spec_hash` of the result."""
    labeled = replace(deployment, labels={**(deployment.labels or {}), APP_LABEL: app_id})
    return replace(labeled, annotations={**(labeled.annotations or {}), SPEC_ANNOTATION: spec_hash(labeled)})


def differences(desired: FunctionDeployment, status: FunctionStatus) -> tuple[str, ...]:
    """The wire names of the fields in which the gateway's ``status`` differs from ``desired``.
    Labels and annotations are compared on the keys ``desired`` sets (providers add their own);
    the namespace is not compared (providers fill in the default)."""
    changed: list[str] = []
    plain = (
        ("image", "image"),
        ("env_process", "envProcess"),
        ("read_only_root_filesystem", "readOnlyRootFilesystem"),
        ("limits", "limits"),
        ("requests", "requests"),
    )
    for attr, wire in plain:
        if getattr(desired, attr) != getattr(status, attr):
            changed.append(wire)
    if dict(desired.env_vars) != dict(status.env_vars):
        changed.append("envVars")
    for attr, wire in (("secrets", "secrets"), ("constraints", "constraints")):
        if sorted(getattr(desired, attr)) != sorted(getattr(status, attr)):
            changed.append(wire)
    for attr, wire in (("labels", "labels"), ("annotations", "annotations")):
        want = {k: v for k, v in (getattr(desired, attr) or {}).items() if k != SPEC_ANNOTATION}
        have = getattr(status, attr) or {}
        if any(have.get(k) != v for k, v in want.items()):
            changed.append(wire)
    return tuple(changed)


# --- secrets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSource:
    """Where the value of a secret to create comes from: ``env`` (an environment variable named
    ``where``) or ``file`` (a file at ``where``, read as bytes; sent as text when it is UTF-8,
    else as ``rawValue``). Written ``env:VAR`` or ``file:PATH`` on the command line."""

    kind: Literal["env", "file"]
    where: str

    @classmethod
    def parse(cls, text: str) -> SecretSource:
        """``env:VAR`` or ``file:PATH``.

        :raises ConfigurationError: for anything else.
        """
        kind, sep, where = text.partition(":")
        if not sep or not where or kind not in ("env", "file"):
            raise ConfigurationError(f"secret source {text!r} must be env:VARIABLE or file:PATH")
        return cls("env" if kind == "env" else "file", where)

    def describe(self) -> str:
        return f"{self.kind} {self.where}"

    def read(self, name: str, namespace: str, environ: Mapping[str, str]) -> Secret:
        """The secret ``name`` with its value.

        :raises ConfigurationError: when the variable is unset or empty, or the file cannot be
            read or is empty.
        """
        if self.kind == "env":
            value = environ.get(self.where, "")
            if not value:
                raise ConfigurationError(f"secret {name}: environment variable {self.where} is not set or empty")
            return Secret(name, namespace, value=value)
        path = Path(self.where).expanduser()
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigurationError(f"secret {name}: cannot read {path}: {e.strerror or e}") from e
        if not data:
            raise ConfigurationError(f"secret {name}: {path} is empty")
        try:
            return Secret(name, namespace, value=data.decode("utf-8"))
        except UnicodeDecodeError:
            return Secret(name, namespace, raw_value=data)


def parse_secret_option(text: str) -> tuple[str, SecretSource]:
    """``NAME=env:VAR`` or ``NAME=file:PATH`` (the ``--secret`` option) as ``(NAME, source)``.

    :raises ConfigurationError: for another shape.
    """
    name, sep, source = text.partition("=")
    if not sep or not name:
        raise ConfigurationError(f"--secret {text!r} must be NAME=env:VARIABLE or NAME=file:PATH")
    return name, SecretSource.parse(source)


def secret_env_var(name: str) -> str:
    """The environment variable a secret's value defaults to: ``SERVEY_FAAS_SECRET_API_KEY``
    for ``api-key``."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


# --- the gateway ---------------------------------------------------------------------------------


def resolve_gateway_url(flag: str | None, stack_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """The gateway URL with faas-cli's precedence (``docs/openfaas.md#stack-file-fields``): ``flag`` (``--gateway``),
    then ``provider.gateway`` of ``stack_file`` (when the file exists; ``${VAR}`` and
    ``${VAR:-default}`` substituted, ``docs/openfaas.md#environment-substitution``), then ``OPENFAAS_URL``, then
    ``http://127.0.0.1:8080``; normalised as faas-cli does.

    :raises ConfigurationError: when the stack file exists but is not valid YAML.
    """
    env = os.environ if environ is None else environ
    if flag:
        return normalize_gateway_url(flag)
    if stack_file is not None and stack_file.is_file():
        import yaml

        try:
            data = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ConfigurationError(f"cannot read the stack file {stack_file}: {e}") from e
        provider = data.get("provider") if isinstance(data, dict) else None
        gateway = provider.get("gateway") if isinstance(provider, dict) else None
        if isinstance(gateway, str) and _substitute(gateway, env).strip():
            return normalize_gateway_url(_substitute(gateway, env))
    return normalize_gateway_url(env.get("OPENFAAS_URL") or DEFAULT_GATEWAY_URL)


def _substitute(text: str, environ: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return environ.get(match["name"]) or (match["default"] or "")

    return re.sub(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}", value, text)


@contextlib.contextmanager
def gateway_errors(gateway: str, doing: str) -> Iterator[None]:
    """Turn the gateway client's errors while ``doing`` something into a
    :class:`~servey_faas.errors.DeployError` that says what to do about them: an unreachable
    gateway, a 401 (missing or wrong credentials), a 403, any other refusal."""
    try:
        yield
    except GatewayUnauthorizedError as e:
        raise DeployError(
            f"the gateway at {gateway} answered 401 Unauthorized to {doing}: log in with "
            f"`servey-faas --run=login --gateway {gateway} --password-stdin` or `faas-cli login --gateway {gateway}` "
            "(both save the credentials where servey_faas reads them; OPENFAAS_CONFIG names another config folder)"
        ) from e
    except GatewayForbiddenError as e:
        raise DeployError(f"the gateway at {gateway} answered 403 Forbidden to {doing}: {e}") from e
    except GatewayConnectionError as e:
        raise DeployError(
            f"cannot reach the gateway at {gateway} to {doing}: {e} (is it running? give --gateway or set OPENFAAS_URL)"
        ) from e
    except GatewayStatusError as e:
        raise DeployError(f"the gateway at {gateway} refused to {doing}: {e}") from e


# --- planning ------------------------------------------------------------------------------------


def missing_registry(builder: str, images: Sequence[str] = ()) -> ConfigurationError:
    """The error for a ``builder`` that pushes images without a registry to push them to;
    ``images`` are the references that name none (shown when given)."""
    named = f", so these images name none: {', '.join(images)}" if images else ""
    return ConfigurationError(
        f"the {builder} builder pushes images to a registry, but no registry is set{named}. Give --registry "
        "(e.g. --registry ghcr.io/acme), or deploy to the local gateway with --builder=local"
    )


def check_registry(builder: Builder, functions: Sequence[BuiltFunction]) -> None:
    """A builder that pushes needs images that name a registry (a ``/`` in the reference).

    :raises ConfigurationError: naming the functions whose image names none (:func:`missing_registry`).
    """
    if not builder.pushes:
        return
    bare = [f"{f.name} ({builder.image_for(f)})" for f in functions if "/" not in builder.image_for(f)]
    if bare:
        raise missing_registry(builder.name, bare)


def plan_deploy(
    build: BuildResult,
    client: GatewayClient,
    builder: Builder,
    *,
    app_id: str,
    prune: bool = False,
    secret_sources: Mapping[str, SecretSource] | None = None,
    update_secrets: Collection[str] = (),
    secret_hints: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    offline: bool = False,
) -> Plan:
    """The steps that make the gateway run ``build``'s functions (see the module docstring).

    ``app_id`` labels the functions (:data:`APP_LABEL`); with ``prune``, functions with this
    label that ``build`` no longer declares are removed. A secret the functions name and the
    gateway lacks is created from ``secret_sources[name]``, else from the environment variable
    :func:`secret_env_var` (values read now, never shown); the secrets in ``update_secrets`` are
    written from their source even when they exist. ``secret_hints`` add, per secret name, how to
    give a missing secret. ``wait_timeout`` (seconds; 0: no wait) bounds the wait for ready
    replicas. Reads the gateway, changes nothing.

    ``offline`` (a dry run) plans without what it cannot have: when the gateway cannot be reached
    the plan is made against an empty gateway (every function ``create``), and a missing registry
    or secret value is a note on the plan instead of an error.

    :raises ConfigurationError: for images without a registry when ``builder`` pushes, an app id
        that is no label value, a secret without a value, or a function owned by another app.
    :raises DeployError: when the gateway cannot be reached (unless ``offline``) or refuses (401,
        403, 5xx).
    """
    check_app_id(app_id)
    functions = build.functions
    notes: list[str] = []
    try:
        check_registry(builder, functions)
    except ConfigurationError as e:
        if not offline:
            raise
        notes.append(str(e))
    env = os.environ if environ is None else environ
    sources = dict(secret_sources or {})
    gateway = client.gateway_url
    desired = [owned(replace(f.deployment, image=builder.image_for(f)), app_id) for f in functions]

    namespaces = sorted({d.namespace for d in desired} or {""})
    need_secrets = {d.namespace for d in desired if d.secrets}
    try:
        deployed, secrets = _read_gateway(client, namespaces, need_secrets)
    except DeployError as e:
        if not (offline and isinstance(e.__cause__, GatewayConnectionError)):
            raise
        notes.append(f"{e}; planned against an empty gateway")
        deployed, secrets = {ns: {} for ns in namespaces}, {ns: set() for ns in need_secrets}

    secret_steps, missing = _secret_steps(desired, secrets, sources, env, set(update_secrets))
    if missing:
        error = _missing_secrets(missing, secret_hints or {}, gateway)
        if not offline:
            raise error
        notes.append(str(error))
    steps: list[Step] = [*secret_steps]
    builds: list[Step] = []
    deploys: list[Step] = []
    for function, deployment in zip(functions, desired, strict=True):
        status = deployed[deployment.namespace].get(deployment.service)
        if status is not None:
            _check_owner(status, app_id)
        if status is not None and _same_spec(deployment, status):
            deploys.append(KeepFunction(deployment.service, deployment.namespace, deployment.image))
            continue
        builds.append(BuildImage(function, deployment.image, builder.name, build.stack_file))
        if status is None:
            deploys.append(DeployFunction(deployment, "create"))
        else:
            deploys.append(DeployFunction(deployment, "update", _reasons(deployment, status)))
    steps += builds + deploys
    ready = tuple((s.deployment.service, s.deployment.namespace) for s in deploys if isinstance(s, DeployFunction))
    if ready and wait_timeout > 0:
        steps.append(WaitForReady(ready, wait_timeout))
    if prune:
        wanted = {(d.namespace, d.service) for d in desired}
        for ns in namespaces:
            for name, status in sorted(deployed[ns].items()):
                if (status.labels or {}).get(APP_LABEL) == app_id and (ns, name) not in wanted:
                    steps.append(RemoveFunction(name, ns, f"no longer declared by app {app_id}"))
    return Plan(gateway, tuple(steps), tuple(notes))


def _read_gateway(
    client: GatewayClient, namespaces: Sequence[str], with_secrets: Collection[str]
) -> tuple[dict[str, dict[str, FunctionStatus]], dict[str, set[str]]]:
    """The functions deployed in each of ``namespaces``, and the secret names of those in
    ``with_secrets``. :raises DeployError: as :func:`gateway_errors`."""
    gateway = client.gateway_url
    deployed: dict[str, dict[str, FunctionStatus]] = {}
    secrets: dict[str, set[str]] = {}
    for ns in namespaces:
        with gateway_errors(gateway, f"list the functions{_in(ns)}"):
            deployed[ns] = {s.name: s for s in client.list_functions(ns or None)}
        if ns in with_secrets:
            with gateway_errors(gateway, f"list the secrets{_in(ns)}"):
                secrets[ns] = {s.name for s in client.list_secrets(ns or None)}
    return deployed, secrets


def _secret_steps(
    desired: Sequence[FunctionDeployment],
    existing: Mapping[str, set[str]],
    sources: Mapping[str, SecretSource],
    environ: Mapping[str, str],
    update: set[str],
) -> tuple[list[CreateSecret | UpdateSecret], list[tuple[str, str]]]:
    """The secret steps, and the ``(namespace, name)`` of needed secrets that have no value."""
    steps: list[CreateSecret | UpdateSecret] = []
    missing: list[tuple[str, str]] = []
    needed = sorted({(d.namespace, s) for d in desired for s in d.secrets})
    for ns, name in needed:
        exists = name in existing.get(ns, set())
        if exists and name not in update:
            continue
        source = sources.get(name) or SecretSource("env", secret_env_var(name))
        if name not in sources and not environ.get(source.where):
            if not exists:
                missing.append((ns, name))
            continue
        secret = source.read(name, ns, environ)
        steps.append(UpdateSecret(secret, source.describe()) if exists else CreateSecret(secret, source.describe()))
    return steps, missing


def _missing_secrets(missing: Sequence[tuple[str, str]], hints: Mapping[str, str], gateway: str) -> ConfigurationError:
    lines = [f"the functions need secrets the gateway at {gateway} lacks, and no value was given:"]
    for ns, name in missing:
        where = f" --namespace {ns}" if ns else ""
        hint = hints.get(name) or (
            f"give --secret {name}=env:VARIABLE or --secret {name}=file:PATH, or set {secret_env_var(name)}, "
            f"or create it first: faas-cli secret create {name} --from-file FILE{where}"
        )
        lines.append(f"  {name}{_in(ns)}: {hint}")
    return ConfigurationError("\n".join(lines))


def _check_owner(status: FunctionStatus, app_id: str) -> None:
    owner = (status.labels or {}).get(APP_LABEL)
    if owner is not None and owner != app_id:
        raise ConfigurationError(
            f"function {status.name} on the gateway belongs to app {owner!r} (label {APP_LABEL}), not {app_id!r}: "
            "servey_faas will not replace it. Choose another --prefix, or remove it first"
        )


def _same_spec(desired: FunctionDeployment, status: FunctionStatus) -> bool:
    deployed_hash = (status.annotations or {}).get(SPEC_ANNOTATION)
    return deployed_hash == (desired.annotations or {}).get(SPEC_ANNOTATION) and desired.image == status.image


def _reasons(desired: FunctionDeployment, status: FunctionStatus) -> tuple[str, ...]:
    changed = differences(desired, status)
    if SPEC_ANNOTATION not in (status.annotations or {}):
        return ("not deployed by servey_faas", *((f"{', '.join(changed)} differ",) if changed else ()))
    return (f"{', '.join(changed)} changed",) if changed else ("spec changed",)


def plan_remove(
    names: Sequence[str],
    client: GatewayClient,
    *,
    app_id: str,
    namespace: str = "",
) -> Plan:
    """The steps that delete the app's functions from ``namespace`` (``""``: the provider's
    default): each of ``names`` the gateway runs, plus every other function labelled with
    ``app_id``. A name the gateway does not run, or runs for another app, is a
    :class:`SkipFunction` (reported, not an error). Reads the gateway, changes nothing.

    :raises DeployError: when the gateway cannot be reached or refuses.
    """
    check_app_id(app_id)
    gateway = client.gateway_url
    with gateway_errors(gateway, f"list the functions{_in(namespace)}"):
        deployed = {s.name: s for s in client.list_functions(namespace or None)}
    steps: list[Step] = []
    for name in names:
        status = deployed.get(name)
        owner = None if status is None else (status.labels or {}).get(APP_LABEL)
        if status is None:
            steps.append(SkipFunction(name, namespace, "not deployed, nothing to remove"))
        elif owner is not None and owner != app_id:
            steps.append(SkipFunction(name, namespace, f"belongs to app {owner!r}, left alone"))
        else:
            steps.append(RemoveFunction(name, namespace, f"declared by app {app_id}"))
    for name, status in sorted(deployed.items()):
        if name not in names and (status.labels or {}).get(APP_LABEL) == app_id:
            steps.append(RemoveFunction(name, namespace, f"deployed by app {app_id}, no longer declared"))
    return Plan(gateway, tuple(steps))
