"""WSGI application: a tiny router in front of the API handlers."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

from inventory.api import items
from inventory.config import load_config
from inventory.db.connection import get_connection

ROUTES = {
    ("GET", "/api/items"): items.list_items,
}


def create_app():
    settings = load_config()

    def app(environ, start_response):
        handler = ROUTES.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")))
        if handler is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not found"}']
        request = type("Request", (), {"query": dict(parse_qsl(environ.get("QUERY_STRING", "")))})
        conn = get_connection(settings.database_url)
        try:
            status, headers, payload = handler(request, conn, settings)
        finally:
            conn.close()
        start_response(status, [("Content-Type", "application/json"), *headers])
        return [json.dumps(payload).encode()]

    return app
