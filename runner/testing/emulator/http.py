"""HTTP front of the GitHub emulator: what happens to one request, in order (the socket side,
Handler and the server, is httpserver.py).

socket ─> Handler ─> /OWNER/NAME.git/* : git smart HTTP (githttp), the token checked like the API's
             └─────> App.dispatch
                      1. /_emulator/*  control endpoints (never limited, never faulty)
                      2. concurrency limit, latency, then seeded faults: drop the connection / 502 / 503
                      3. credentials ─> 401 Bad credentials (an App's JWT on /app endpoints, apps)
                      4. primary and secondary limits ─> 403 + GitHub's message
                      5. route ─> endpoint (api) ─> Reply
                      6. ETag / If-None-Match ─> 304, refunded to the primary budget
                      7. x-ratelimit-* and GitHub's other headers
                      8. seeded "lost reply": the work is done but the connection is cut
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from runner.testing.emulator import api as emulator_api  # noqa: F401  (registers the routes)
from runner.testing.emulator import app_api as emulator_app_api  # noqa: F401  (registers the routes)
from runner.testing.emulator import pulls as emulator_pulls  # noqa: F401  (registers the routes)
from runner.testing.emulator.apps import NOT_DECODED, AppRecord, Apps
from runner.testing.emulator.config import ConfigHolder, EmulatedClock, EmulatorConfig
from runner.testing.emulator.errors import ApiError, not_found
from runner.testing.emulator.limits import FaultInjector, Limiter, RateSnapshot, Stats
from runner.testing.emulator.routing import CREATE, READ, Call, Reply, Request, Route, resolve
from runner.testing.emulator.shapes import Shapes
from runner.testing.emulator.state import State

DROP = object()
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


class App:
    """Turns a Request into a Reply (or DROP) following GitHub's rules."""

    def __init__(self, state: State, config: EmulatorConfig, tokens: Mapping[str, str | None] | None) -> None:
        """``tokens`` maps each accepted token to its login (None: the configured login); None accepts any."""
        self.state = state
        self.clock = EmulatedClock(config.time_scale)
        self.config = ConfigHolder(config, self._config_changed)
        self.limiter = Limiter(self.config.get, self.clock)
        self.faults = FaultInjector(config.seed)
        self.stats = Stats()
        self.tokens = dict(tokens) if tokens is not None else None
        self.apps = Apps(self.clock)
        self._request_ids = itertools.count(1)

    def _config_changed(self, new: EmulatorConfig, changes: Mapping[str, Any]) -> None:
        """Setting ``seed`` restarts the fault sequence, so a scenario can be replayed exactly."""
        if "time_scale" in changes:
            self.clock.set_scale(new.time_scale)
        if "seed" in changes:
            self.faults.reseed(new.seed)
            self.limiter.reseed(new.seed)

    def stats_dict(self) -> dict[str, Any]:
        return self.stats.to_dict(self.limiter.max_in_flight)

    def dispatch(self, request: Request) -> Reply | object:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        self.stats.incr("requests")
        if not self.limiter.enter():
            return self._finish(request, "concurrency", None, self._secondary(60.0, "concurrency", None, request), None)
        try:
            cfg = self.config.get()
            if cfg.latency_s:
                time.sleep(cfg.latency_s)
            reply = self._faulty(request, cfg)
            if reply is None:
                reply = self._serve(request, cfg)
                if self.faults.lose_reply(cfg):
                    self.stats.incr("replies_lost")
                    return DROP
            return reply
        finally:
            self.limiter.leave()

    def _faulty(self, request: Request, cfg: EmulatorConfig) -> Reply | object | None:
        """The injected fault for this request, if the dice say so."""
        fault = self.faults.draw(cfg)
        if fault == "drop":
            self.stats.incr("drops_injected")
            return DROP
        if isinstance(fault, int):
            self.stats.incr("failures_injected")
            message = "Server Error" if fault == 502 else "Service Unavailable"
            return self._finish(request, "fault", None, _error(ApiError(fault, message)), None)
        return None

    def _serve(self, request: Request, cfg: EmulatorConfig) -> Reply:
        found = resolve(request.method, request.path)
        route = found[0] if found else None
        name = route.name if route else "unknown"
        try:
            user, app = self._authenticate(request, route)
        except ApiError as error:
            self.stats.incr("bad_credentials")
            return self._finish(request, "auth", None, _error(error), self.limiter.snapshot(None))
        refused, snapshot = self._admit(request, route, user, cfg)
        if refused is not None:
            return self._finish(request, name, user, refused, snapshot)
        reply = self._call(request, found, user, snapshot, app)
        if request.method in ("GET", "HEAD") and reply.status == 200:
            reply = self._conditional(request, reply, user)
            if reply.status == 304:
                snapshot = self.limiter.refund(user)
        return self._finish(request, name, user, reply, snapshot)

    def _admit(
        self, request: Request, route: Route | None, user: str | None, cfg: EmulatorConfig
    ) -> tuple[Reply | None, RateSnapshot]:
        """Charge the primary budget and check the secondary limits; a Reply means refused."""
        if route is not None and not route.counted:
            snapshot = self.limiter.snapshot(user)
        else:
            allowed, snapshot = self.limiter.consume(user)
            if not allowed:
                self.stats.incr("primary_limit_violations")
                return self._primary(user, cfg), snapshot
        if route is None or route.kind == READ:
            self.stats.incr("reads")
            return None, snapshot
        if user is None:
            return _error(ApiError(401, "Requires authentication")), snapshot
        refusal = self.limiter.admit_write(user, creates_content=route.kind == CREATE)
        if refusal is not None:
            return self._secondary(refusal.wait, refusal.reason, user, request), snapshot
        self.stats.incr("writes")
        return None, snapshot

    def _call(
        self,
        request: Request,
        found: tuple[Route, dict[str, str]] | None,
        user: str | None,
        snapshot: RateSnapshot,
        app: AppRecord | None = None,
    ) -> Reply:
        if found is None:
            return _error(not_found())
        route, params = found
        call = Call(
            request,
            params,
            user,
            self.state,
            Shapes(request.base_url),
            self.stats,
            snapshot,
            app=app,
            apps=self.apps,
            token_lifetime_s=self.config.get().installation_token_lifetime_s,
        )
        try:
            return route.endpoint(call)
        except ApiError as error:
            return _error(error)
        except Exception:
            self.stats.incr("internal_errors")
            traceback.print_exc(file=sys.stderr)
            return _error(ApiError(500, "Server Error"))

    def _authenticate(self, request: Request, route: Route | None) -> tuple[str | None, AppRecord | None]:
        """The caller: a login, or an App (by its JWT) on the endpoints that take one, as on GitHub."""
        header = request.headers.get("Authorization")
        if not header:
            if route is not None and route.app_jwt:
                raise ApiError(401, NOT_DECODED)
            return None, None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("token", "bearer") or not token:
            raise ApiError(401, "Bad credentials")
        if route is not None and route.app_jwt:
            app = self.apps.verify_jwt(token)
            return app.bot_login, app
        kind = "read" if route is None or route.kind == READ else "write"
        return self.token_login(token, kind), None

    def token_login(self, token: str, kind: str = "read") -> str:
        """The login a token acts as: an installation token's bot while it lives, else a configured token's."""
        bot = self.apps.token_login(token, kind)
        if bot is not None:
            return bot
        if self.tokens is not None and token not in self.tokens:
            raise ApiError(401, "Bad credentials")
        return (self.tokens or {}).get(token) or self.config.get().login

    def _primary(self, user: str | None, cfg: EmulatorConfig) -> Reply:
        if user is None:
            message = (
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get "
                "a higher rate limit. Check out the documentation for more details.)"
            )
        else:
            message = (
                f"API rate limit exceeded for user ID {self.state.user(user).id}. If you reach out to GitHub "
                "Support for help, please include the request ID and timestamp."
            )
        docs = f"{RATE_DOCS}#about-the-primary-rate-limit"
        return _error(ApiError(cfg.rate_limit_status, message, documentation_url=docs))

    def _secondary(self, emulated_wait: float, reason: str, user: str | None, request: Request) -> Reply:
        agent = str(request.headers.get("User-Agent") or "")[:80]
        self.stats.secondary(self.clock.now(), reason, emulated_wait, user, agent)
        retry_after = max(math.ceil(self.clock.real_delay(emulated_wait)), 1)
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID."
        )
        error = ApiError(
            self.config.get().rate_limit_status, message, documentation_url=f"{RATE_DOCS}#about-secondary-rate-limits"
        )
        reply = _error(error)
        reply.headers["retry-after"] = str(retry_after)
        return reply

    @staticmethod
    def _conditional(request: Request, reply: Reply, user: str | None) -> Reply:
        digest = hashlib.sha256(encode(reply.payload))
        digest.update(f"{reply.headers.get('link', '')}|{user}".encode())
        etag = f'W/"{digest.hexdigest()[:40]}"'
        reply.headers["etag"] = etag
        wanted = request.headers.get("If-None-Match")
        if wanted and _etag_matches(wanted, etag):
            return Reply(304, None, {"etag": etag})
        return reply

    def _finish(
        self, request: Request, name: str, user: str | None, reply: Reply, snapshot: RateSnapshot | None
    ) -> Reply:
        headers = {
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"{next(self._request_ids):08X}:EMU",
            "vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
        if request.method in ("GET", "HEAD"):
            headers["cache-control"] = "private, max-age=60, s-maxage=60"
        if snapshot is not None:
            headers.update(snapshot.headers())
        headers.update(reply.headers)
        reply.headers = headers
        if reply.status == 304:
            self.stats.incr("not_modified")
        self.stats.response(name, reply.status)
        return reply

    def _control(self, request: Request) -> Reply:
        """Test and benchmark hooks: read or change the configuration, read or reset the stats."""
        path = request.path.rstrip("/")
        try:
            if path == "/_emulator/config" and request.method == "GET":
                return Reply(200, self.config.get().to_dict())
            if path == "/_emulator/config" and request.method in ("POST", "PATCH"):
                changes = json.loads(request.body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                return Reply(200, self.config.update(changes).to_dict())
            if path == "/_emulator/stats" and request.method == "GET":
                return Reply(200, self.stats_dict())
            if path == "/_emulator/stats" and request.method == "DELETE":
                self.stats.reset()
                self.limiter.max_in_flight = 0
                return Reply(200, self.stats_dict())
            if path == "/_emulator/reset-limits" and request.method == "POST":
                self.limiter.reset()
                return Reply(200, {"reset": True})
        except ValueError as error:
            return Reply(422, {"message": str(error)})
        return _error(not_found())


def _error(error: ApiError) -> Reply:
    return Reply(error.status, error.body(), dict(error.headers))


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _etag_matches(header: str, etag: str) -> bool:
    def strip(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    candidates = [strip(tag) for tag in header.split(",")]
    return "*" in candidates or strip(etag) in candidates
