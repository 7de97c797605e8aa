"""CSV export of every item with its warehouse."""
from __future__ import annotations

import io
import tempfile

from inventory.db.queries import fetch_items, fetch_warehouse

HEADER = ["sku", "name", "quantity", "price", "warehouse"]


def format_price(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def export_csv(conn, out) -> int:
    """Write the CSV to a text stream and return the number of rows."""
    out.write(",".join(HEADER) + "\n")
    count = 0
    for item in fetch_items(conn):
        warehouse = fetch_warehouse(conn, item.warehouse_id)
        row = [item.sku, item.name, str(item.quantity), format_price(item.price_cents),
               warehouse.code if warehouse else ""]
        out.write(",".join(row) + "\n")
        count += 1
    return count


def export_csv_response(request, conn, settings):
    with tempfile.TemporaryFile("w+", encoding="ascii") as spool:
        export_csv(conn, spool)
        spool.seek(0)
        data = io.BytesIO(spool.read().encode("ascii")).getvalue()
    headers = [("Content-Type", "text/csv"),
               ("Content-Disposition", "attachment; filename=inventory.csv")]
    return "200 OK", headers, data
