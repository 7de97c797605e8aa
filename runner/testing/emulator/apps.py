"""GitHub Apps in the emulator: registered apps, their installations and installation tokens.

    app's JWT (RS256, signed with the app's private key) ──verify_jwt──> the App
    App + installation ──issue_token──> `ghs_...` token, valid `installation_token_lifetime_s`
                                         emulated seconds, acting as `<slug>[bot]`
    every later request with that token ──token_login──> the bot's login, or 401 once expired

The emulator is given each app's key (public, or the private PEM it derives the public key
from) and installs every app on every repository owner it serves, so a client can look the
installation up by repository as on GitHub. JWTs carry the client's real clock (`iat`, `exp`),
so they are checked against the real clock; installation tokens expire on the emulated one.
Each token's uses are counted per kind (read, write, push), so a test can tell which token
authorized what.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from runner.testing.emulator.config import EmulatedClock
from runner.testing.emulator.errors import ApiError

JWT_DOCS = "https://docs.github.com/rest"
MAX_JWT_LIFETIME_S = 600
CLOCK_LEEWAY_S = 60
NOT_DECODED = "A JSON web token could not be decoded"


@dataclass
class AppRecord:
    id: int
    slug: str
    public_key: Any
    installations: dict[str, int] = field(default_factory=dict)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class InstallationToken:
    token: str = field(repr=False)
    serial: int
    installation_id: int
    login: str
    issued_at: float
    expires_at: float


class Apps:
    """The registry, under its own lock; times of tokens are on the emulated clock."""

    def __init__(self, clock: EmulatedClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(7001)
        self.apps: dict[int, AppRecord] = {}
        self.installations: dict[int, tuple[AppRecord, str]] = {}
        self.tokens: dict[str, InstallationToken] = {}
        self.issued: list[InstallationToken] = []
        self.uses: Counter[tuple[int, str]] = Counter()
        self._lifetimes: list[float] = []
        self.jwts: list[str] = []

    def queue_lifetimes(self, *seconds: float) -> None:
        """Lifetimes (emulated seconds) of the next tokens issued, before the configured one applies
        again: a test decides which token expires during a run, whatever the machine's speed."""
        with self._lock:
            self._lifetimes.extend(seconds)

    def add(self, app_id: int, key_pem: str | bytes, slug: str | None = None) -> AppRecord:
        """Register an app by its key: a public key PEM, or the private key PEM it belongs to."""
        with self._lock:
            app = AppRecord(app_id, slug or f"app-{app_id}", _public_key(key_pem))
            self.apps[app_id] = app
            return app

    def install(self, app_id: int, account: str) -> int:
        """The id of the app's installation on `account` (created on first call)."""
        with self._lock:
            app = self.apps[app_id]
            key = account.lower()
            if key not in app.installations:
                app.installations[key] = next(self._ids)
                self.installations[app.installations[key]] = (app, account)
            return app.installations[key]

    def verify_jwt(self, token: str) -> AppRecord:
        """The app whose key signed `token`, as GitHub checks it: RS256, issuer, iat, exp <= 10 min."""
        import jwt

        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _jwt_error(NOT_DECODED) from None
        app = self.apps.get(_int(claims.get("iss")) or -1)
        if header.get("alg") != "RS256" or app is None:
            raise _jwt_error(NOT_DECODED)
        try:
            jwt.decode(token, app.public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError:
            raise _jwt_error(NOT_DECODED) from None
        _check_times(claims, self.clock.real_now())
        with self._lock:
            self.jwts.append(token)
        return app

    def installation(self, installation_id: int, app: AppRecord) -> tuple[AppRecord, str]:
        with self._lock:
            found = self.installations.get(installation_id)
        if found is None or found[0] is not app:
            raise ApiError(404, "Not Found", documentation_url=f"{JWT_DOCS}/apps/apps")
        return found

    def issue_token(self, installation_id: int, app: AppRecord, lifetime_s: float) -> InstallationToken:
        self.installation(installation_id, app)
        with self._lock:
            now = self.clock.now()
            lifetime_s = self._lifetimes.pop(0) if self._lifetimes else lifetime_s
            issued = InstallationToken(
                "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36],
                len(self.issued) + 1,
                installation_id,
                app.bot_login,
                now,
                now + lifetime_s,
            )
            self.tokens[issued.token] = issued
            self.issued.append(issued)
            return issued

    def token_login(self, token: str, kind: str = "read") -> str | None:
        """The bot login of a live installation token; None if it is none; 401 once expired."""
        with self._lock:
            found = self.tokens.get(token)
            if found is None:
                return None
            if self.clock.now() >= found.expires_at:
                self.uses[(found.serial, "refused")] += 1
                raise ApiError(401, "Bad credentials")
            self.uses[(found.serial, kind)] += 1
            return found.login

    def count(self, kind: str) -> dict[int, int]:
        """Uses of `kind` (read, write, push, refused) per token serial."""
        with self._lock:
            return {serial: n for (serial, what), n in self.uses.items() if what == kind}


def _check_times(claims: dict[str, Any], now: float) -> None:
    iat, exp = _int(claims.get("iat")), _int(claims.get("exp"))
    if iat is None or iat > now + CLOCK_LEEWAY_S:
        raise _jwt_error(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        )
    if exp is None or exp <= now:
        raise _jwt_error(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires"
        )
    if exp - iat > MAX_JWT_LIFETIME_S + CLOCK_LEEWAY_S:
        raise _jwt_error("'Expiration time' claim ('exp') is too far in the future")


def _jwt_error(message: str) -> ApiError:
    return ApiError(401, message, documentation_url=JWT_DOCS)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _public_key(key_pem: str | bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    data = key_pem.encode() if isinstance(key_pem, str) else key_pem
    if b"PRIVATE KEY" in data:
        return serialization.load_pem_private_key(data, password=None).public_key()
    return serialization.load_pem_public_key(data)
