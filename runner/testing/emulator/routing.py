"""Requests, replies, the route table and GitHub-style pagination for the emulator.

An endpoint is a function ``Call -> Reply`` registered with ``@route(METHOD, TEMPLATE, kind)``.
``kind`` tells the dispatcher how the request counts against the secondary limits:
READ (free), WRITE (subject to the write interval) or CREATE (also a content-creating request).
``app_jwt`` endpoints are called as a GitHub App, with its JWT, instead of with a token.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any

from runner.testing.emulator.errors import ApiError
from runner.testing.emulator.limits import RateSnapshot

if TYPE_CHECKING:
    from runner.testing.emulator.apps import AppRecord, Apps
    from runner.testing.emulator.limits import Stats
    from runner.testing.emulator.shapes import Shapes
    from runner.testing.emulator.state import State

READ, WRITE, CREATE = "read", "write", "create"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message[str, str]
    body: bytes
    base_url: str


@dataclass
class Reply:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """What an endpoint sees: the request, its path parameters, the caller and the services."""

    request: Request
    params: dict[str, str]
    user: str | None
    state: State
    shapes: Shapes
    stats: Stats
    rate: RateSnapshot
    app: AppRecord | None = None
    apps: Apps | None = None
    token_lifetime_s: float = 3600.0
    _json: Any = field(default=None, init=False)
    _parsed: bool = field(default=False, init=False)

    @property
    def full_name(self) -> str:
        return f"{self.params['owner']}/{self.params['repo']}"

    def number(self, name: str = "number") -> int:
        return int(self.params[name])

    def query(self, name: str, default: str | None = None) -> str | None:
        values = [v for k, v in self.request.query if k == name]
        return values[-1] if values else default

    def json(self) -> Any:
        if not self._parsed:
            try:
                self._json = json.loads(self.request.body or b"null")
            except ValueError:
                raise ApiError(400, "Problems parsing JSON") from None
            self._parsed = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        return data


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    endpoint: Callable[[Call], Reply]
    kind: str
    counted: bool
    app_jwt: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


ROUTES: list[Route] = []


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("number", "comment_id", "repo_id", "installation_id"):
            return rf"(?P<{name}>\d+)"
        if name == "branch":
            return rf"(?P<{name}>.+)"
        return rf"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "/?$")


def route(
    method: str, template: str, kind: str = READ, counted: bool = True, app_jwt: bool = False
) -> Callable[..., Any]:
    """Register an endpoint; ``counted=False`` for calls GitHub does not bill (GET /rate_limit)."""

    def register(endpoint: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
        ROUTES.append(Route(method, template, _compile(template), endpoint, kind, counted, app_jwt))
        return endpoint

    return register


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    method = "GET" if method == "HEAD" else method
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.match(path)
        if match:
            return candidate, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    return None


def page_numbers(call: Call) -> tuple[int, int]:
    """(page, per_page) as GitHub reads them: bad values fall back to the defaults."""
    try:
        per_page = int(call.query("per_page") or DEFAULT_PER_PAGE)
    except ValueError:
        per_page = DEFAULT_PER_PAGE
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    try:
        page = max(int(call.query("page") or 1), 1)
    except ValueError:
        page = 1
    return page, per_page


def paginate(call: Call, items: list[Any], render: Callable[[Any], Any]) -> Reply:
    """One page of ``items`` plus the ``Link`` header GitHub would send."""
    page, per_page = page_numbers(call)
    last = max(math.ceil(len(items) / per_page), 1)
    with call.state.lock:
        payload = [render(item) for item in items[(page - 1) * per_page : page * per_page]]
    links = link_header(call.request, page, last)
    return Reply(200, payload, {"link": links} if links else {})


def link_header(request: Request, page: int, last: int) -> str | None:
    def url(number: int) -> str:
        params = [(k, v) for k, v in request.query if k != "page"] + [("page", str(number))]
        return f"{request.base_url}{request.path}?{urllib.parse.urlencode(params)}"

    links = []
    if page > 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return ", ".join(links) or None
