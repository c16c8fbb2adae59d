"""Weather: an async action and a PUT that takes a JSON body."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from schemey.schema import float_schema

from servey_faas import WEB_GET, WEB_PUT, Example, action


@dataclass(frozen=True)
class Reading:
    """A temperature reading in degrees Celsius at a station."""

    station: str
    # A field can carry its own JSON Schema (schemey's field metadata): no reading is colder than
    # absolute zero or hotter than the sun's core, so requests outside that range get a 422.
    celsius: float = field(metadata={"schemey": float_schema(minimum=-273.15, maximum=1.6e7)})


@action(
    triggers=(WEB_GET,),
    examples=(Example(name="oslo", params={"city": "Oslo"}, result={"station": "OSLO", "celsius": 4.0}),),
)
async def current_temperature(city: str) -> Reading:
    """Read the current temperature of a city (async: awaits a simulated sensor)."""
    await asyncio.sleep(0.001)
    return Reading(station=city.upper(), celsius=float(len(city)))


@dataclass(frozen=True)
class FahrenheitReading:
    """A temperature reading in degrees Fahrenheit at a station."""

    station: str
    fahrenheit: float


@action(
    triggers=(WEB_PUT,),
    examples=(
        Example(
            name="fahrenheit",
            params={"reading": {"station": "OSLO", "celsius": 100.0}},
            result={"station": "OSLO", "fahrenheit": 212.0},
        ),
    ),
)
def to_fahrenheit(reading: Reading) -> FahrenheitReading:
    """Convert a reading to degrees Fahrenheit."""
    return FahrenheitReading(station=reading.station, fahrenheit=reading.celsius * 9 / 5 + 32)
