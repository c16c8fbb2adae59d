"""A scheduled action that cannot run on a schedule (it has a required param)."""

from servey_faas import FixedRateTrigger, action


@action(triggers=(FixedRateTrigger(60),))
def needs_input(city: str) -> str:
    return city
