"""Orders: dataclasses in and out over POST, a path parameter, and a DELETE."""

from __future__ import annotations

import datetime
import enum
import uuid
from dataclasses import dataclass, field

from schemey.schema import float_schema, int_schema

from servey_faas import WEB_POST, Example, WebTrigger, action


class Currency(enum.Enum):
    EUR = "EUR"
    USD = "USD"


@dataclass(frozen=True)
class OrderLine:
    """One product and how many of it."""

    sku: str
    # Bounded by the fields' own JSON Schemas (schemey's field metadata), so that no valid order
    # has a total a float cannot hold: outside these ranges a request gets a 422.
    quantity: int = field(default=1, metadata={"schemey": int_schema(minimum=1, maximum=1_000_000)})
    unit_price: float = field(default=0.0, metadata={"schemey": float_schema(minimum=0, maximum=1e9)})


@dataclass(frozen=True)
class Order:
    """An order as a customer places it."""

    customer: str
    lines: list[OrderLine]
    currency: Currency = Currency.EUR
    deliver_on: datetime.date | None = None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    """The priced order."""

    order_id: uuid.UUID
    customer: str
    total: float
    currency: Currency
    item_count: int
    quoted_at: datetime.datetime


_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


@action(
    triggers=(WEB_POST,),
    examples=(
        Example(
            name="two_lines",
            params={
                "order": {
                    "customer": "ada",
                    "lines": [{"sku": "tea", "quantity": 2, "unit_price": 3.5}, {"sku": "cup", "unit_price": 4.0}],
                    "deliver_on": "2026-12-01",
                }
            },
            result={
                "order_id": "c3d9b7f0-1f5e-5d8c-9c1a-6a7b4f0f8e0a",
                "customer": "ada",
                "total": 11.0,
                "currency": "EUR",
                "item_count": 3,
                "quoted_at": "2026-12-01T00:00:00+00:00",
            },
            include_in_tests=False,
            description="A quote for two lines (order_id and quoted_at vary).",
        ),
    ),
)
def quote_order(order: Order) -> Quote:
    """Price an order: the sum of quantity * unit price over its lines."""
    total = sum(line.quantity * line.unit_price for line in order.lines)
    day = order.deliver_on or datetime.date(2026, 1, 1)
    when = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return Quote(
        order_id=uuid.uuid5(_NAMESPACE, f"{order.customer}:{total}:{when.isoformat()}"),
        customer=order.customer,
        total=total,
        currency=order.currency,
        item_count=sum(line.quantity for line in order.lines),
        quoted_at=when,
    )


@action(
    triggers=(WebTrigger("GET", "/orders/{order_number}/lines/{line}"),),
    examples=(Example(name="first_line", params={"order_number": 42, "line": 1}, result="order 42, line 1"),),
)
def get_order_line(order_number: int, line: int = 1) -> str:
    """Describe one line of an order, addressed by path parameters."""
    return f"order {order_number}, line {line}"


@action(
    triggers=(WebTrigger("DELETE", "/orders/{order_number}"),),
    examples=(
        Example(name="cancel", params={"order_number": 7}, result={"order_number": 7, "cancelled": True}),
        Example(
            name="keep", params={"order_number": 7, "dry_run": True}, result={"order_number": 7, "cancelled": False}
        ),
    ),
)
def cancel_order(order_number: int, dry_run: bool = False) -> dict[str, int | bool]:
    """Cancel an order (``dry_run`` only checks that it could be)."""
    return {"order_number": order_number, "cancelled": not dry_run}
