"""Test actions for GraphQL: dataclass inputs and results, enums, lists, optionals, datetimes and
UUIDs, nested ``@action`` methods, a name clash between an input and an output type, a
schedule-only action, protected actions, and actions that fail.

:func:`sensor_actions` makes fresh actions around a :class:`Calls` record, so tests can see which
functions ran (nested actions must run only when selected) and no state lives at module level.
"""

# No ``from __future__ import annotations``: the dataclass and actions made inside
# sensor_actions() refer to each other, and string annotations naming a local class cannot be
# resolved later.
import asyncio
import datetime
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemey.schema import float_schema

from servey_faas import (
    WEB_DELETE,
    WEB_GET,
    WEB_POST,
    Authorization,
    FixedRateTrigger,
    ScopeAccessControl,
    WebTrigger,
    action,
    get_action,
)
from servey_faas.app import ServeyApp
from servey_faas.authentication import JwtSettings
from servey_faas.discovery import ActionRegistry
from servey_faas.settings import Settings

#: The HS256 key of the test apps (RFC 7518 §3.2: at least 32 bytes).
SECRET = "graphql-tests-hs256-key-of-at-least-32-bytes!"
READ_SCOPE = "sensors:read"
ADMIN_SCOPE = "sensors:admin"


class Unit(enum.Enum):
    """A temperature unit."""

    CELSIUS = "C"
    FAHRENHEIT = "F"


@dataclass(frozen=True)
class Location:
    """Where a sensor stands (degrees)."""

    latitude: float = field(metadata={"schemey": float_schema(minimum=-90, maximum=90)})
    longitude: float = field(metadata={"schemey": float_schema(minimum=-180, maximum=180)})


@dataclass(frozen=True)
class SensorSpec:
    """A sensor to register."""

    station: str
    installed_at: datetime.datetime
    location: Location
    unit: Unit = Unit.CELSIUS
    serial: uuid.UUID | None = None
    calibrated_on: datetime.date | None = None
    tags: list[str] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """One reading (the same dataclass is taken and returned: ``Reading`` and ``ReadingInput``)."""

    celsius: float
    taken_at: datetime.datetime


@dataclass(frozen=True)
class Tree:
    """A recursive dataclass: an object type that holds itself."""

    label: str
    children: list["Tree"] = field(default_factory=list)
    parent_label: str | None = None


@action(triggers=(WEB_GET,))
def grow_tree(depth: int) -> Tree:
    """A tree ``depth`` levels deep, two children a node."""
    if depth <= 0:
        return Tree("leaf")
    return Tree(f"level {depth}", [grow_tree(depth - 1), grow_tree(depth - 1)])


@dataclass
class Calls:
    """The names of the functions that ran, in order."""

    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SensorActions:
    calls: Calls
    functions: tuple[Callable[..., Any], ...]
    sensor_type: type


def sensor_actions() -> SensorActions:
    """Fresh actions recording their calls in one :class:`Calls`."""
    calls = Calls()

    @dataclass(frozen=True)
    class Sensor:
        """A registered sensor, with nested actions."""

        id: uuid.UUID
        station: str
        installed_at: datetime.datetime
        location: Location
        unit: Unit
        readings: list[float]
        serial: uuid.UUID | None = None
        calibrated_on: datetime.date | None = None
        tags: list[str] = field(default_factory=list)
        limits: dict[str, float] = field(default_factory=dict)

        @action
        def average(self, last: int = 0) -> float:
            """Average of the last ``last`` readings (all when 0)."""
            calls.names.append("average")
            values = self.readings[-last:] if last else self.readings
            return sum(values) / len(values)

        @action
        async def describe(self, unit: Unit, precise: bool = False) -> str:
            """The sensor in words, in ``unit``."""
            calls.names.append("describe")
            await asyncio.sleep(0)
            value = self.average() if unit is Unit.CELSIUS else self.average() * 9 / 5 + 32
            return f"{self.station}: {value:.{2 if precise else 0}f} {unit.value}"

        @action
        def readings_above(self, threshold: Reading) -> list[Reading]:
            """Readings above a threshold reading (an input dataclass argument on a nested action)."""
            calls.names.append("readings_above")
            return [Reading(v, threshold.taken_at) for v in self.readings if v > threshold.celsius]

        @action(access_control=ScopeAccessControl(ADMIN_SCOPE))
        def owner(self, auth: Authorization) -> str:
            """Who may administer the sensor: the caller's subject (admin scope)."""
            calls.names.append("owner")
            return f"{auth.subject_id} owns {self.station}"

        @action
        def broken(self) -> str:
            """Always raises."""
            raise RuntimeError(f"secret nested failure of {self.station}")

        @action(triggers=(FixedRateTrigger(60),))
        def refresh(self) -> None:
            """Schedule-only: never a GraphQL field."""

    def make(station: str, unit: Unit = Unit.CELSIUS, readings: tuple[float, ...] = (1.0, 2.0, 6.0)) -> Sensor:
        return Sensor(
            id=uuid.uuid5(uuid.NAMESPACE_URL, station),
            station=station,
            installed_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            location=Location(59.9, 10.7),
            unit=unit,
            readings=list(readings),
            tags=["outdoor"],
            limits={"max": 40.0},
        )

    @action(triggers=(WEB_GET,))
    def get_sensor(station: str, unit: Unit = Unit.CELSIUS) -> Sensor:
        """One sensor by station."""
        calls.names.append("get_sensor")
        return make(station, unit)

    @action(triggers=(WEB_GET,))
    def list_sensors(stations: list[str], since: datetime.datetime | None = None) -> list[Sensor]:
        """Several sensors; ``since`` is echoed into ``calibrated_on`` of each."""
        calls.names.append("list_sensors")
        found = [make(s) for s in stations]
        if since is not None:
            from dataclasses import replace

            found = [replace(s, calibrated_on=since.date()) for s in found]
        return found

    @action(triggers=(WEB_POST,))
    def register_sensor(spec: SensorSpec) -> Sensor:
        """Register a sensor from its spec (nested dataclass, enum, optional, date/time, UUID inputs)."""
        calls.names.append("register_sensor")
        return Sensor(
            id=uuid.uuid5(uuid.NAMESPACE_URL, spec.station),
            station=spec.station,
            installed_at=spec.installed_at,
            location=spec.location,
            unit=spec.unit,
            readings=[],
            serial=spec.serial,
            calibrated_on=spec.calibrated_on,
            tags=spec.tags,
            limits=spec.limits,
        )

    @action(triggers=(WEB_POST,))
    def echo_reading(reading: Reading) -> Reading:
        """The reading back (one dataclass as input and output type)."""
        return reading

    @action(triggers=(WEB_GET, WebTrigger("POST", "/actions/both-ways")))
    def both_ways(word: str) -> str:
        """Served by GET and POST: a Query and a Mutation field."""
        return word[::-1]

    @action(triggers=(FixedRateTrigger(3600),))
    def nightly_cleanup() -> None:
        """Schedule-only: never a GraphQL field."""

    @action(triggers=(WEB_GET,))
    def explode(reason: str) -> str:
        """Always raises; the reason must never reach the client."""
        raise RuntimeError(f"secret failure detail: {reason}")

    @action(triggers=(WEB_GET,))
    def not_a_float() -> dict[str, float]:
        """A result JSON cannot carry (NaN)."""
        return {"value": float("nan")}

    @action(triggers=(WEB_GET,), access_control=ScopeAccessControl(READ_SCOPE))
    def whoami(auth: Authorization) -> str:
        """The caller's subject (read scope)."""
        return f"{auth.subject_id} with {' '.join(sorted(auth.scopes))}"

    @action(triggers=(WEB_DELETE,), access_control=ScopeAccessControl(ADMIN_SCOPE))
    def forget_sensor(station: str) -> bool:
        """Admin scope, a Mutation (DELETE)."""
        return bool(station)

    @action(triggers=(WEB_GET,))
    def maybe_me(auth: Authorization | None = None) -> str:
        """Open; knows the caller when a valid token is sent."""
        return "anonymous" if auth is None else str(auth.subject_id)

    functions = (
        grow_tree,
        get_sensor,
        list_sensors,
        register_sensor,
        echo_reading,
        both_ways,
        nightly_cleanup,
        explode,
        not_a_float,
        whoami,
        forget_sensor,
        maybe_me,
    )
    return SensorActions(calls, functions, Sensor)


def app_of(*functions: Callable[..., Any], jwt: JwtSettings | None = None) -> ServeyApp:
    """A :class:`ServeyApp` over ``functions`` (HS256 with :data:`SECRET` unless ``jwt`` says otherwise)."""
    actions = [a for a in map(get_action, functions) if a is not None]
    settings = Settings(jwt=jwt or JwtSettings(key=SECRET, algorithms=("HS256",)))
    return ServeyApp.from_registry(ActionRegistry(actions), settings)
