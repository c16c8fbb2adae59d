"""Weather: an async action and a PUT that takes a JSON body."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from servey_faas import WEB_GET, WEB_PUT, Example, action


@dataclass(frozen=True)
class Reading:
    """A temperature reading in degrees Celsius at a station."""

    station: str
    celsius: float


@action(
    triggers=(WEB_GET,),
    examples=(Example(name="oslo", params={"city": "Oslo"}, result={"station": "OSLO", "celsius": 4.0}),),
)
async def current_temperature(city: str) -> Reading:
    """Read the current temperature of a city (async: awaits a simulated sensor)."""
    await asyncio.sleep(0.001)
    return Reading(station=city.upper(), celsius=float(len(city)))


@action(
    triggers=(WEB_PUT,),
    examples=(
        Example(
            name="fahrenheit",
            params={"reading": {"station": "OSLO", "celsius": 100.0}},
            result={"station": "OSLO", "celsius": 212.0},
        ),
    ),
)
def to_fahrenheit(reading: Reading) -> Reading:
    """Convert a reading to degrees Fahrenheit (the field keeps its name)."""
    return Reading(station=reading.station, celsius=reading.celsius * 9 / 5 + 32)
