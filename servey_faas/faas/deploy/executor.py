"""Deploy execution: apply a :class:`~servey_faas.faas.deploy.planner.Plan` step by step, with progress.

:class:`Executor` applies the steps in order through the gateway client and a builder, telling a
:class:`Reporter` as each starts, logs and ends; :class:`PlanPrinter` is the plan-only executor
of ``--dry-run``: it prints the same steps and applies none. Reporters: :class:`RichReporter`
(a spinner per step and the latest build log line, for terminals), :class:`PlainReporter` (one
line per step, for logs and pipes), :class:`QuietReporter` (nothing); :func:`make_reporter`
picks one.

The first step that fails stops the run. The error (:class:`DeployStepError`) names the step
and its cause and says which functions were applied and which not, so nothing is ever left
half-deployed without saying so. A plan builds every image before deploying any function, so a
failed build leaves the gateway as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

from servey_faas.errors import ConfigurationError, DeployError, ServeyFaasError
from servey_faas.faas.client import ConflictError, GatewayStatusError, NotFoundError
from servey_faas.faas.deploy.planner import (
    BuildImage,
    CreateSecret,
    DeployFunction,
    KeepFunction,
    Plan,
    RemoveFunction,
    SkipFunction,
    Step,
    UpdateSecret,
    WaitForReady,
    gateway_errors,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from servey_faas.faas.client import GatewayClient
    from servey_faas.faas.deploy.builders.base import Builder

#: Seconds between two polls of a function's status while waiting for a ready replica.
DEFAULT_POLL_INTERVAL = 1.0
_SECRET_OUTCOMES = {"created": "secret created", "updated": "secret updated"}


@dataclass(frozen=True)
class Outcome:
    """What applying ``step`` did, in a few words (``created``, ``updated``, ``already gone``…)."""

    step: Step
    text: str


@dataclass(frozen=True)
class ExecutionResult:
    """What a run did: every step's :class:`Outcome`, in order, and the function names it
    ``applied`` (created or updated), left ``unchanged`` and ``removed``."""

    plan: Plan
    outcomes: tuple[Outcome, ...]

    def _targets(self, kind: type[Step]) -> tuple[str, ...]:
        return tuple(o.step.target for o in self.outcomes if isinstance(o.step, kind))

    @property
    def applied(self) -> tuple[str, ...]:
        return self._targets(DeployFunction)

    @property
    def unchanged(self) -> tuple[str, ...]:
        return self._targets(KeepFunction)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(o.step.target for o in self.outcomes if isinstance(o.step, RemoveFunction) and o.text == "removed")

    @property
    def summary(self) -> str:
        """What was done, e.g. ``1 created, 1 updated, 2 unchanged, 1 removed, 1 secret created``."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            step = outcome.step
            if isinstance(step, (CreateSecret, UpdateSecret)):
                what = _SECRET_OUTCOMES.get(outcome.text, "secret already there")
            elif isinstance(step, (DeployFunction, KeepFunction, RemoveFunction, SkipFunction)):
                what = outcome.text
            else:
                continue
            counts[what] = counts.get(what, 0) + 1
        return ", ".join(f"{n} {what}" for what, n in counts.items()) or "nothing to do"


class DeployStepError(DeployError):
    """A step of a plan failed. ``step`` is the step, ``__cause__`` the error; ``applied`` the
    functions created or updated before it, ``not_applied`` those whose deploy did not happen,
    ``removed`` / ``not_removed`` the same for removals. The message says all of it."""

    def __init__(
        self,
        step: Step,
        cause: BaseException,
        *,
        applied: Iterable[str],
        not_applied: Iterable[str],
        removed: Iterable[str],
        not_removed: Iterable[str],
    ) -> None:
        self.step = step
        self.applied = tuple(applied)
        self.not_applied = tuple(not_applied)
        self.removed = tuple(removed)
        self.not_removed = tuple(not_removed)
        if isinstance(cause, KeyboardInterrupt):
            self.exit_code = 130
            reason = "interrupted"
        elif isinstance(cause, ServeyFaasError):
            self.exit_code = cause.exit_code if isinstance(cause, ConfigurationError) else 1
            reason = str(cause)
        else:
            reason = f"{type(cause).__name__}: {cause}"
        lines = [f"{step.message} failed: {reason}"]
        if self.applied or self.not_applied:
            lines.append(f"  applied: {', '.join(self.applied) or 'none'}")
            lines.append(f"  not applied: {', '.join(self.not_applied) or 'none'}")
        if self.removed or self.not_removed:
            lines.append(f"  removed: {', '.join(self.removed) or 'none'}")
            lines.append(f"  not removed: {', '.join(self.not_removed) or 'none'}")
        super().__init__("\n".join(lines))


class Reporter(Protocol):
    """Receives the progress of a run. ``index`` counts from 1 to ``total``."""

    def plan_started(self, plan: Plan) -> None: ...

    def step_started(self, index: int, total: int, step: Step) -> None: ...

    def step_log(self, step: Step, line: str) -> None:
        """A line of output while ``step`` runs (a build log line, a function becoming ready)."""
        ...

    def step_finished(self, index: int, total: int, step: Step, outcome: str) -> None: ...

    def step_failed(self, index: int, total: int, step: Step, error: BaseException) -> None: ...

    def plan_finished(self, result: ExecutionResult) -> None: ...


class Executor:
    """Applies plans through ``client`` (the gateway) and ``builder`` (needed only for plans
    with :class:`~servey_faas.faas.deploy.planner.BuildImage` steps), reporting to ``reporter``.

    * :class:`CreateSecret`: POST ``/system/secrets``; a 409 counts as ``already exists`` (``docs/openfaas.md#routes``).
    * :class:`UpdateSecret`: PUT ``/system/secrets``, then POST when it answers 404; a 405 (a
      provider that cannot update secrets) is an error saying to remove the secret first.
    * :class:`BuildImage`: ``builder.build(...)``, its log lines sent to the reporter.
    * :class:`DeployFunction`: PUT ``/system/functions``, then POST when the PUT answers 404, as
      ``faas-cli deploy`` does (``docs/openfaas.md#what-faas-cli-deploy-sends``); 200, 201 and 202 all count as success.
    * :class:`WaitForReady`: GET ``/system/function/{name}`` every ``poll_interval`` seconds until
      each reports ``availableReplicas ≥ 1`` (``docs/openfaas.md#functionstatus``), at most the step's ``timeout``
      seconds.
    * :class:`RemoveFunction`: DELETE ``/system/functions``; a 404 counts as ``already gone``.

    ``sleep`` and ``clock`` (monotonic seconds) are injectable for tests.
    """

    def __init__(
        self,
        client: GatewayClient,
        reporter: Reporter,
        *,
        builder: Builder | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.reporter = reporter
        self.builder = builder
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock

    def execute(self, plan: Plan) -> ExecutionResult:
        """Apply every step of ``plan`` in order.

        :raises DeployStepError: at the first step that fails (or on Ctrl-C), saying which
            functions were applied and removed and which not.
        """
        self.reporter.plan_started(plan)
        total = len(plan.steps)
        outcomes: list[Outcome] = []
        for index, step in enumerate(plan.steps, 1):
            self.reporter.step_started(index, total, step)
            try:
                text = self._apply(step, plan.gateway)
            except (Exception, KeyboardInterrupt) as e:
                self.reporter.step_failed(index, total, step, e)
                raise _stopped(plan, outcomes, step, e) from e
            outcomes.append(Outcome(step, text))
            self.reporter.step_finished(index, total, step, text)
        result = ExecutionResult(plan, tuple(outcomes))
        self.reporter.plan_finished(result)
        return result

    def _apply(self, step: Step, gateway: str) -> str:
        client = self.client
        if isinstance(step, CreateSecret):
            with gateway_errors(gateway, f"create secret {step.secret.name}"):
                try:
                    client.create_secret(step.secret)
                except ConflictError:
                    return "already exists"
            return "created"
        if isinstance(step, UpdateSecret):
            with gateway_errors(gateway, f"update secret {step.secret.name}"):
                try:
                    client.update_secret(step.secret)
                except NotFoundError:  # removed since the plan was made
                    client.create_secret(step.secret)
                    return "created"
                except GatewayStatusError as e:
                    if e.status_code != 405:
                        raise
                    raise DeployError(
                        f"the gateway at {gateway} cannot update secrets (405): remove the secret and deploy again "
                        f"(faas-cli secret remove {step.secret.name})"
                    ) from e
            return "updated"
        if isinstance(step, BuildImage):
            if self.builder is None:
                raise DeployError("the plan builds images but the executor has no builder")
            self.builder.build(
                step.function, image=step.image, stack_file=step.stack_file, log=lambda line: self._log(step, line)
            )
            return "built"
        if isinstance(step, DeployFunction):
            with gateway_errors(gateway, f"deploy function {step.target}"):
                try:
                    client.update_function(step.deployment)
                except NotFoundError:  # PUT, then POST on 404 (``docs/openfaas.md#what-faas-cli-deploy-sends``)
                    client.deploy_function(step.deployment)
                    return "created"
            return "updated"
        if isinstance(step, WaitForReady):
            return self._wait(step, gateway)
        if isinstance(step, RemoveFunction):
            with gateway_errors(gateway, f"remove function {step.name}"):
                try:
                    client.delete_function(step.name, step.namespace or None)
                except NotFoundError:
                    return "already gone"
            return "removed"
        if isinstance(step, KeepFunction):
            return "unchanged"
        return "skipped"

    def _log(self, step: Step, line: str) -> None:
        self.reporter.step_log(step, line)

    def _wait(self, step: WaitForReady, gateway: str) -> str:
        deadline = self._clock() + step.timeout
        pending = list(step.functions)
        replicas: dict[tuple[str, str], int] = {}
        while True:
            waiting: list[tuple[str, str]] = []
            for name, namespace in pending:
                with gateway_errors(gateway, f"read the status of {name}"):
                    try:
                        status = self.client.get_function(name, namespace or None)
                    except NotFoundError:  # some providers list a new function a moment late
                        waiting.append((name, namespace))
                        continue
                if status.ready:
                    self._log(step, f"{name}: {status.available_replicas} available replica(s)")
                else:
                    replicas[(name, namespace)] = status.available_replicas
                    waiting.append((name, namespace))
            pending = waiting
            if not pending:
                return "ready"
            left = deadline - self._clock()
            if left <= 0:
                names = ", ".join(name for name, _ in pending)
                raise DeployError(
                    f"no available replica after {step.timeout:g} s: {names} (deployed, but not ready; "
                    "see their logs with faas-cli logs NAME)"
                )
            self._sleep(min(self.poll_interval, left))


def _stopped(plan: Plan, done: list[Outcome], failed: Step, error: BaseException) -> DeployStepError:
    finished = {id(o.step) for o in done}
    deploys = [s for s in plan.steps if isinstance(s, DeployFunction)]
    removes = [s for s in plan.steps if isinstance(s, RemoveFunction)]
    return DeployStepError(
        failed,
        error,
        applied=[s.target for s in deploys if id(s) in finished],
        not_applied=[s.target for s in deploys if id(s) not in finished],
        removed=[s.target for s in removes if id(s) in finished],
        not_removed=[s.target for s in removes if id(s) not in finished],
    )


class PlanPrinter:
    """The plan-only executor of ``--dry-run``: writes :meth:`Plan.lines` to ``stream`` and
    applies nothing."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def execute(self, plan: Plan) -> ExecutionResult:
        for line in plan.lines():
            self.stream.write(line + "\n")
        self.stream.flush()
        return ExecutionResult(plan, ())


# --- reporters -----------------------------------------------------------------------------------


def _says_it_all(step: Step) -> bool:
    """Steps that change nothing: their message already says what their outcome is."""
    return isinstance(step, (KeepFunction, SkipFunction))


class QuietReporter:
    """Reports nothing (``--quiet``); errors still reach the caller as exceptions."""

    def plan_started(self, plan: Plan) -> None:
        pass

    def step_started(self, index: int, total: int, step: Step) -> None:
        pass

    def step_log(self, step: Step, line: str) -> None:
        pass

    def step_finished(self, index: int, total: int, step: Step, outcome: str) -> None:
        pass

    def step_failed(self, index: int, total: int, step: Step, error: BaseException) -> None:
        pass

    def plan_finished(self, result: ExecutionResult) -> None:
        pass


class PlainReporter:
    """Plain text for logs and pipes: a heading, one line per finished step
    (``[2/5] create function say-hello: created``), a closing summary. With ``verbose``, log
    lines (build output) too, indented."""

    def __init__(self, stream: IO[str], *, verbose: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def plan_started(self, plan: Plan) -> None:
        self._write(f"{plan.gateway}: {plan.summary}")

    def step_started(self, index: int, total: int, step: Step) -> None:
        pass

    def step_log(self, step: Step, line: str) -> None:
        if self.verbose:
            self._write(f"    {line}")

    def step_finished(self, index: int, total: int, step: Step, outcome: str) -> None:
        self._write(f"[{index}/{total}] {step.message}" + ("" if _says_it_all(step) else f": {outcome}"))

    def step_failed(self, index: int, total: int, step: Step, error: BaseException) -> None:
        self._write(f"[{index}/{total}] {step.message}: FAILED")

    def plan_finished(self, result: ExecutionResult) -> None:
        self._write(f"done: {result.summary}")


class RichReporter:
    """For terminals: a spinner on the running step showing its latest log line (the build log,
    as the remote builder streams it), then a ✓ or ✗ line per step; log lines stay on screen
    only with ``verbose``."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._status: Status | None = None
        self._heading = ""

    def plan_started(self, plan: Plan) -> None:
        from rich.text import Text

        self.console.print(Text.assemble((plan.gateway, "bold"), f": {plan.summary}"))

    def step_started(self, index: int, total: int, step: Step) -> None:
        from rich.text import Text

        self._heading = f"[{index}/{total}] {step.message}"
        self._status = self.console.status(Text(self._heading))
        self._status.start()

    def step_log(self, step: Step, line: str) -> None:
        from rich.text import Text

        if self.verbose:
            self.console.print(Text(f"    {line}", style="dim"))
        if self._status is not None:
            self._status.update(Text.assemble(self._heading, ("\n    " + line[:200], "dim")))

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def step_finished(self, index: int, total: int, step: Step, outcome: str) -> None:
        from rich.text import Text

        self._stop()
        done = "" if _says_it_all(step) else f": {outcome}"
        self.console.print(Text.assemble(("✓ ", "green"), f"[{index}/{total}] {step.message}", (done, "dim")))

    def step_failed(self, index: int, total: int, step: Step, error: BaseException) -> None:
        from rich.text import Text

        self._stop()
        self.console.print(Text.assemble(("✗ ", "bold red"), f"[{index}/{total}] {step.message}"))

    def plan_finished(self, result: ExecutionResult) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(("done: ", "bold"), result.summary))


def make_reporter(stream: IO[str], *, quiet: bool = False, verbose: bool = False) -> Reporter:
    """:class:`QuietReporter` with ``quiet``; else :class:`RichReporter` when ``stream`` is a
    terminal; else :class:`PlainReporter`."""
    if quiet:
        return QuietReporter()
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from rich.console import Console

        return RichReporter(Console(file=stream), verbose=verbose)
    return PlainReporter(stream, verbose=verbose)
