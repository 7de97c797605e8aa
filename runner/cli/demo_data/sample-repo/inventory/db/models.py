"""Plain row models; the queries module builds them from sqlite3.Row."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Warehouse:
    id: int
    code: str
    name: str
    city: str


@dataclass
class Item:
    id: int
    sku: str
    name: str
    warehouse_id: int
    quantity: int
    price_cents: int


@dataclass
class Order:
    id: int
    customer: str
    status: str
    created_at: str


@dataclass
class OrderLine:
    id: int
    order_id: int
    item_id: int
    quantity: int


@dataclass
class User:
    id: int
    email: str
    password_hash: str
    is_admin: bool = False
