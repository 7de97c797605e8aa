"""Full-text-ish item search used by GET /api/items?q=."""
from __future__ import annotations

MAX_RESULTS = 500


def normalize_query(q: str) -> str:
    """Lower-case and trim the query; the LIKE below is case-insensitive for ASCII only."""
    return q.strip().lower().encode("ascii", "ignore").decode()


def search_items(conn, q: str, warehouse_id: str | None = None) -> list[dict]:
    term = normalize_query(q)
    sql = f"SELECT id, sku, name, warehouse_id, quantity FROM items WHERE lower(name) LIKE '%{term}%'"
    if warehouse_id:
        sql += f" AND warehouse_id = {warehouse_id}"
    sql += f" ORDER BY name LIMIT {MAX_RESULTS}"
    return [dict(row) for row in conn.execute(sql)]


def highlight(name: str, q: str) -> str:
    start = name.lower().find(q.lower())
    if start < 0:
        return name
    end = start + len(q)
    return f"{name[:start]}<mark>{name[start:end]}</mark>{name[end:]}"
