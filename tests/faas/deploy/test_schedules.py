"""An action's schedule as its function's cron-connector annotation, and watchdog timeouts (the rules
themselves: tests/test_cron.py)."""

from __future__ import annotations

import pytest

from servey_faas import CronTrigger, FixedRateTrigger, action, get_action
from servey_faas.errors import BuildError
from servey_faas.faas.deploy.packager import function_timeouts, schedule_of


def test_schedule_of_maps_the_actions_trigger_and_names_the_action() -> None:
    @action(triggers=(FixedRateTrigger(600),))
    def every_ten() -> None: ...

    @action(triggers=(CronTrigger("0 9 * * 1"),))
    def mondays() -> None: ...

    @action
    def unscheduled() -> None: ...

    slipped = CronTrigger("* * * * *")
    object.__setattr__(slipped, "expression", "61 * * * *")  # past the trigger's own check

    @action(triggers=(slipped,))
    def bad() -> None: ...

    assert schedule_of(get_action(every_ten)) == "*/10 * * * *"  # type: ignore[arg-type]
    assert schedule_of(get_action(mondays)) == "0 9 * * 1"  # type: ignore[arg-type]
    assert schedule_of(get_action(unscheduled)) is None  # type: ignore[arg-type]
    with pytest.raises(BuildError, match=r"^action 'bad': schedule '61 \* \* \* \*': minute"):
        schedule_of(get_action(bad))  # type: ignore[arg-type]


def test_a_cron_expression_that_slipped_past_the_trigger_is_still_refused() -> None:
    trigger = CronTrigger("* * * * *")
    object.__setattr__(trigger, "expression", "0 0 * * * ; 0 12 * * *")  # what the dataclass check would refuse

    @action(triggers=(trigger,))
    def twice() -> None: ...

    with pytest.raises(BuildError, match=r"action 'twice'.*need OpenFaaS Pro"):
        schedule_of(get_action(twice))  # type: ignore[arg-type]


def test_one_schedule_per_function() -> None:
    @action(triggers=(FixedRateTrigger(60), CronTrigger("0 0 * * *")))
    def both() -> None: ...

    @action(triggers=(FixedRateTrigger(60), CronTrigger("*/1 * * * *")))
    def same() -> None: ...

    with pytest.raises(BuildError, match=r"action 'both' has 2 schedules .*one schedule annotation"):
        schedule_of(get_action(both))  # type: ignore[arg-type]
    assert schedule_of(get_action(same)) == "*/1 * * * *"  # type: ignore[arg-type]  # one schedule, given twice


def test_function_timeouts_leave_read_and_write_above_exec() -> None:
    assert function_timeouts(30) == {"exec_timeout": "30s", "read_timeout": "35s", "write_timeout": "35s"}
    assert function_timeouts(2.5) == {"exec_timeout": "2s500ms", "read_timeout": "7s500ms", "write_timeout": "7s500ms"}
