"""Orders endpoints: listing with their lines, and creating an order that reserves stock."""
from __future__ import annotations

from dataclasses import asdict

from inventory.api.pagination import paginate, parse_page_params
from inventory.db import queries
from inventory.stock import OutOfStock, reserve_stock


def list_orders(request, conn, settings):
    page, per_page = parse_page_params(request.query)
    orders = queries.fetch_orders(conn)
    result = []
    for order in orders:
        lines = queries.fetch_order_lines(conn, order.id)
        result.append({**asdict(order), "lines": [asdict(line) for line in lines]})
    return "200 OK", [], paginate(result, page, per_page).as_dict()


def create_order(request, conn, settings):
    lines = request.body.get("lines", [])
    if not lines:
        return "400 Bad Request", [], {"error": "an order needs at least one line"}
    order_id = queries.insert_order(conn, request.body.get("customer", "walk-in"))
    try:
        for line in lines:
            reserve_stock(conn, int(line["item_id"]), int(line["quantity"]), settings)
            queries.insert_order_line(conn, order_id, int(line["item_id"]), int(line["quantity"]))
    except OutOfStock as exc:
        return "409 Conflict", [], {"error": str(exc)}
    return "201 Created", [], {"id": order_id}
