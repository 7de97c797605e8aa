"""Every SQL statement the API runs, in one place."""
from __future__ import annotations

from inventory.db.models import Item, Order, OrderLine, User, Warehouse


def fetch_items(conn, limit: int | None = None, offset: int = 0) -> list[Item]:
    sql = "SELECT id, sku, name, warehouse_id, quantity, price_cents FROM items ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [Item(**dict(row)) for row in conn.execute(sql)]


def fetch_item(conn, item_id: int) -> Item | None:
    row = conn.execute("SELECT id, sku, name, warehouse_id, quantity, price_cents FROM items "
                       "WHERE id = ?", (item_id,)).fetchone()
    return Item(**dict(row)) if row else None


def insert_item(conn, sku: str, name: str, warehouse_id: int, quantity: int, price_cents: int) -> int:
    cursor = conn.execute("INSERT INTO items (sku, name, warehouse_id, quantity, price_cents) "
                          "VALUES (?, ?, ?, ?, ?)", (sku, name, warehouse_id, quantity, price_cents))
    conn.commit()
    return cursor.lastrowid


def rename_item(conn, item_id: int, name: str) -> None:
    conn.execute("UPDATE items SET name = ? WHERE id = ?", (name, item_id))
    conn.commit()


def update_quantity(conn, item_id: int, quantity: int) -> None:
    conn.execute("UPDATE items SET quantity = ? WHERE id = ?", (quantity, item_id))
    conn.commit()


def fetch_warehouse(conn, warehouse_id: int) -> Warehouse | None:
    row = conn.execute("SELECT id, code, name, city FROM warehouses WHERE id = ?",
                       (warehouse_id,)).fetchone()
    return Warehouse(**dict(row)) if row else None


def fetch_orders(conn) -> list[Order]:
    rows = conn.execute("SELECT id, customer, status, created_at FROM orders ORDER BY id DESC")
    return [Order(**dict(row)) for row in rows]


def fetch_order_lines(conn, order_id: int) -> list[OrderLine]:
    rows = conn.execute("SELECT id, order_id, item_id, quantity FROM order_lines "
                        "WHERE order_id = ?", (order_id,))
    return [OrderLine(**dict(row)) for row in rows]


def insert_order(conn, customer: str) -> int:
    cursor = conn.execute("INSERT INTO orders (customer, status) VALUES (?, 'open')", (customer,))
    conn.commit()
    return cursor.lastrowid


def insert_order_line(conn, order_id: int, item_id: int, quantity: int) -> None:
    conn.execute("INSERT INTO order_lines (order_id, item_id, quantity) VALUES (?, ?, ?)",
                 (order_id, item_id, quantity))
    conn.commit()


def find_user_by_email(conn, email: str) -> User | None:
    row = conn.execute("SELECT id, email, password_hash, is_admin FROM users WHERE email = ?",
                       (email,)).fetchone()
    return User(**dict(row)) if row else None
