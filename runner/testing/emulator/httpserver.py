"""The socket side of the emulator: `http.server` adapted to `App.dispatch` (keep-alive as on
GitHub, the GitHub Enterprise "/api/v3" prefix, git smart HTTP handed to githttp), and a
threaded server that can cut its kept-alive connections when it stops, so a test ends at once.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runner.testing.emulator import githttp
from runner.testing.emulator.http import App, encode
from runner.testing.emulator.routing import Reply, Request

ENTERPRISE_PREFIX = "/api/v3"
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")


class Handler(BaseHTTPRequestHandler):
    """Adapts http.server to App.dispatch; keeps connections alive like GitHub does."""

    protocol_version = "HTTP/1.1"
    server_version = "github.com"
    sys_version = ""
    timeout = 120
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = githttp.read_chunked(self.rfile)
        else:
            body = self.rfile.read(length) if length > 0 else b""
        split = urllib.parse.urlsplit(self.path)
        path, base_url = split.path, self._base_url()
        if githttp.is_git_path(path):
            self._write_git(*githttp.serve(self.server.app, self.command, path, split.query, self.headers, body))
            return
        if path == ENTERPRISE_PREFIX or path.startswith(ENTERPRISE_PREFIX + "/"):
            path, base_url = path[len(ENTERPRISE_PREFIX) :] or "/", base_url + ENTERPRISE_PREFIX
        request = Request(
            method=self.command,
            path=path,
            query=urllib.parse.parse_qsl(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            base_url=base_url,
        )
        reply = self.server.app.dispatch(request)
        if not isinstance(reply, Reply):
            self.close_connection = True
            return
        self._write(reply)

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        if not _HOST.match(host):
            address, port = self.server.server_address[:2]
            assert isinstance(address, str), "a bound socket names its host as text"
            host = f"{address}:{port}"
        return f"http://{host}"

    def _write_git(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.status == 304 or (reply.status == 204 and reply.payload is None):
            self.end_headers()
            return
        data = encode(reply.payload) if reply.payload is not None else b""
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that can also cut its kept-alive connections when stopped."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
