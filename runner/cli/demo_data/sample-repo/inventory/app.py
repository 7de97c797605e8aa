"""WSGI application: a tiny router in front of the API handlers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl

from inventory.api import items, orders
from inventory.api.rate_limit import TooManyRequests
from inventory.auth import login
from inventory.config import Settings, load_config
from inventory.db.connection import get_connection
from inventory.export.csv_export import export_csv_response


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    cookies: dict[str, str]
    body: dict = field(default_factory=dict)
    remote_addr: str = ""
    session: dict | None = None


ROUTES = {
    ("GET", "/api/items"): items.list_items,
    ("POST", "/api/items"): items.create_item,
    ("GET", "/api/items/detail"): items.get_item,
    ("PATCH", "/api/items/detail"): items.update_item,
    ("GET", "/api/orders"): orders.list_orders,
    ("POST", "/api/orders"): orders.create_order,
    ("POST", "/api/login"): login.login,
    ("POST", "/api/logout"): login.logout,
    ("POST", "/api/password-reset"): login.request_password_reset,
    ("GET", "/api/export.csv"): export_csv_response,
}


def parse_request(environ: dict) -> Request:
    cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    return Request(
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        query=dict(parse_qsl(environ.get("QUERY_STRING", ""))),
        cookies={key: morsel.value for key, morsel in cookies.items()},
        body=json.loads(raw) if raw else {},
        remote_addr=environ.get("REMOTE_ADDR", ""),
    )


def create_app(settings: Settings | None = None):
    settings = settings or load_config()

    def app(environ, start_response):
        request = parse_request(environ)
        handler = ROUTES.get((request.method, request.path))
        if handler is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not found"}']
        conn = get_connection(settings.database_url)
        try:
            status, headers, payload = handler(request, conn, settings)
        except TooManyRequests as exc:
            status, headers, payload = "429 Too Many Requests", [("Retry-After", str(exc.retry_after))], {}
        finally:
            conn.close()
        if isinstance(payload, bytes):
            start_response(status, headers)
            return [payload]
        start_response(status, [("Content-Type", "application/json"), *headers])
        return [json.dumps(payload).encode()]

    return app
