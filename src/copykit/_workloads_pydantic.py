"""Pydantic v2 models for the ``pydantic`` workload; imported only when pydantic is installed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel


class Address(BaseModel):
    street: str
    city: str
    postcode: str


class Customer(BaseModel):
    id: int
    name: str
    email: str
    address: Address


class LineItem(BaseModel):
    sku: str
    quantity: int
    unit_price: float


class Order(BaseModel):
    id: int
    customer: Customer
    items: list[LineItem]
    created_at: datetime
    notes: str | None = None
    tags: list[str] = []


def build_orders(rng: random.Random) -> list[object]:
    """50 orders, each with a customer, an address and 1-6 line items."""
    base = datetime(2024, 5, 1, tzinfo=timezone.utc)
    orders: list[object] = []
    for index in range(50):
        customer = Customer(
            id=index,
            name=f"customer {index}",
            email=f"c{index}@example.com",
            address=Address(
                street=f"{rng.randint(1, 99)} High St",
                city="Leeds",
                postcode=f"LS{rng.randint(1, 30)}",
            ),
        )
        items = [
            LineItem(
                sku=f"SKU-{rng.randint(0, 999):03d}",
                quantity=rng.randint(1, 5),
                unit_price=round(rng.uniform(1, 100), 2),
            )
            for _ in range(rng.randint(1, 6))
        ]
        orders.append(
            Order(
                id=1000 + index,
                customer=customer,
                items=items,
                created_at=base + timedelta(hours=index),
                notes=None if index % 3 else "leave at door",
                tags=["priority"] if index % 7 == 0 else [],
            )
        )
    return orders
