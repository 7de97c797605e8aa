"""Stock movements: reservations for orders and manual adjustments."""
from __future__ import annotations

from inventory.db.queries import fetch_item, update_quantity
from inventory.notifications import send_low_stock_alert

LOW_STOCK_THRESHOLD = 5


class OutOfStock(Exception):
    pass


def reserve_stock(conn, item_id: int, quantity: int, settings) -> int:
    """Take `quantity` units of an item for an order and return what is left."""
    item = fetch_item(conn, item_id)
    if item is None or item.quantity < quantity:
        raise OutOfStock(f"item {item_id}: not enough stock for {quantity}")
    remaining = item.quantity - quantity
    update_quantity(conn, item_id, remaining)
    if remaining < LOW_STOCK_THRESHOLD:
        send_low_stock_alert(settings, item, remaining)
    adjust_quantity(conn, item_id, remaining, settings)
    return remaining


def release_stock(conn, item_id: int, quantity: int, settings) -> int:
    item = fetch_item(conn, item_id)
    remaining = item.quantity + quantity
    update_quantity(conn, item_id, remaining)
    return remaining


def adjust_quantity(conn, item_id: int, quantity: int, settings) -> None:
    """Set the counted quantity of an item (stock take, corrections)."""
    if quantity < 0:
        raise ValueError("quantity cannot be negative")
    item = fetch_item(conn, item_id)
    update_quantity(conn, item_id, quantity)
    if quantity < LOW_STOCK_THRESHOLD:
        send_low_stock_alert(settings, item, quantity)
