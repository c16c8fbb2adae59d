"""The plain strawberry schema bench/graphql.py compares servey_faas with: the demo functions
``say_hello`` and ``quote_order`` as fields, the order's input objects made into the actions' own
dataclasses by hand. No ``from __future__ import annotations``: strawberry reads these annotations.
"""

import datetime
import uuid

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from actions.greetings import say_hello  # the repository root is uvicorn's --app-dir
from actions.orders import Currency, Order, OrderLine, quote_order

CurrencyType = strawberry.enum(Currency)


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int = 1
    unit_price: float = 0.0


@strawberry.input
class OrderInput:
    customer: str
    lines: list[OrderLineInput]
    currency: CurrencyType = Currency.EUR  # type: ignore[valid-type]
    deliver_on: datetime.date | None = None


@strawberry.type
class Quote:
    order_id: uuid.UUID
    customer: str
    total: float
    currency: CurrencyType  # type: ignore[valid-type]
    item_count: int
    quoted_at: datetime.datetime


def quote(order: OrderInput) -> Quote:
    lines = [OrderLine(line.sku, line.quantity, line.unit_price) for line in order.lines]
    return quote_order(Order(order.customer, lines, order.currency, order.deliver_on))  # type: ignore[return-value]


@strawberry.type
class Query:
    say_hello_field = strawberry.field(resolver=say_hello, name="sayHello")


@strawberry.type
class Mutation:
    quote_order_field = strawberry.mutation(resolver=quote, name="quoteOrder")


def plain_schema(cache_size: int) -> strawberry.Schema:
    """The schema, with strawberry's parser and validation caches of ``cache_size`` entries."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: ParserCache(maxsize=cache_size), lambda: ValidationCache(maxsize=cache_size)],
    )
