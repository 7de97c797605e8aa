"""Items endpoints: list, detail, create, update."""
from __future__ import annotations

from dataclasses import asdict

from inventory.api.pagination import paginate, parse_page_params
from inventory.cache import TTLCache
from inventory.db import queries
from inventory.search import search_items
from inventory.stock import adjust_quantity

_item_cache = TTLCache(ttl_s=60)


def list_items(request, conn, settings):
    page, per_page = parse_page_params(request.query)
    if request.query.get("q"):
        rows = search_items(conn, request.query["q"], request.query.get("warehouse"))
    else:
        rows = _item_cache.get("all-items")
        if rows is None:
            rows = [asdict(item) for item in queries.fetch_items(conn)]
            _item_cache.set("all-items", rows)
    return "200 OK", [], paginate(rows, page, per_page).as_dict()


def get_item(request, conn, settings):
    item = queries.fetch_item(conn, int(request.query["id"]))
    if item is None:
        return "404 Not Found", [], {"error": "no such item"}
    return "200 OK", [], asdict(item)


def create_item(request, conn, settings):
    data = request.body
    missing = [name for name in ("sku", "name", "warehouse_id") if name not in data]
    if missing:
        return "400 Bad Request", [], {"error": f"missing fields: {', '.join(missing)}"}
    item_id = queries.insert_item(conn, data["sku"], data["name"], int(data["warehouse_id"]),
                                  int(data.get("quantity", 0)), int(data.get("price_cents", 0)))
    _item_cache.invalidate("all-items")
    return "201 Created", [], {"id": item_id}


def update_item(request, conn, settings):
    item_id = int(request.query["id"])
    if "quantity" in request.body:
        adjust_quantity(conn, item_id, int(request.body["quantity"]), settings)
    if "name" in request.body:
        queries.rename_item(conn, item_id, request.body["name"])
    return "200 OK", [], {"id": item_id}
