"""Settings and emulated time for the GitHub emulator.

The configuration is a frozen value: a running emulator swaps the whole object
(``ConfigHolder.update``) so a request always sees one consistent set of knobs.
Time is compressed by ``time_scale`` for rate-limit bookkeeping only, so a
benchmark can live through an emulated hour of limits in one real minute.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatorConfig:
    """Knobs that make the emulator behave like a busy, rate-limited GitHub.

    primary_limit / anonymous_limit  requests per emulated hour for a user / without a token
    rate_limit_status                403 (GitHub's usual answer) or 429 for rate-limit refusals
    secondary_limits                 enforce content_per_minute, content_per_hour, max_concurrent
                                     and min_write_interval_s (seconds between two writes); after a
                                     refusal the user's writes stay refused until its retry-after
    inject_secondary_every_s         mean emulated seconds between secondary limits injected at random
                                     (seeded) into a user's writes, whatever their budget; 0 = never
    inject_secondary_wait_s          the retry-after of an injected limit, emulated seconds (GitHub's
                                     usual 60)
    latency_s                        real seconds added to every API request
    failure_rate                     fraction answered 502/503 without doing the work
    drop_rate                        fraction whose connection is closed before the work
    lost_reply_rate                  fraction whose work is done but whose reply is never sent
    seed                             seeds the fault dice; setting it again replays the sequence
    time_scale                       emulated seconds per real second for rate-limit windows
    login                            the user behind tokens that have no login of their own
    installation_token_lifetime_s    emulated seconds a GitHub App installation token lives (GitHub: an hour)
    """

    primary_limit: int = 5000
    anonymous_limit: int = 60
    rate_limit_status: int = 403
    secondary_limits: bool = True
    content_per_minute: int = 80
    content_per_hour: int = 500
    min_write_interval_s: float = 0.0
    inject_secondary_every_s: float = 0.0
    inject_secondary_wait_s: float = 60.0
    max_concurrent: int = 100
    latency_s: float = 0.0
    failure_rate: float = 0.0
    drop_rate: float = 0.0
    lost_reply_rate: float = 0.0
    seed: int = 0
    time_scale: float = 1.0
    login: str = "octocat"
    installation_token_lifetime_s: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("primary_limit", "anonymous_limit", "content_per_minute", "content_per_hour", "max_concurrent"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("failure_rate", "drop_rate", "lost_reply_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_s < 0 or self.min_write_interval_s < 0:
            raise ValueError("latency_s and min_write_interval_s must be >= 0")
        if self.inject_secondary_every_s < 0 or self.inject_secondary_wait_s <= 0:
            raise ValueError("inject_secondary_every_s must be >= 0 and inject_secondary_wait_s > 0")
        if self.time_scale <= 0 or self.installation_token_lifetime_s <= 0:
            raise ValueError("time_scale and installation_token_lifetime_s must be > 0")
        if self.rate_limit_status not in (403, 429):
            raise ValueError("rate_limit_status must be 403 or 429")
        if not self.login:
            raise ValueError("login must not be empty")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_changes(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Return a copy with ``changes`` applied; reject unknown keys and wrong types."""
        types = {f.name: f.type for f in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in types:
                raise ValueError(f"unknown setting: {key}")
            checked[key] = _coerce(key, types[key], value)
        return dataclasses.replace(self, **checked)


def _coerce(key: str, type_name: Any, value: Any) -> Any:
    kind = type_name if isinstance(type_name, str) else type_name.__name__
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and number and isinstance(value, int):
        return value
    if kind == "float" and number:
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    raise ValueError(f"{key} must be of type {kind}")


class ConfigHolder:
    """The current configuration, replaced atomically at runtime."""

    def __init__(self, config: EmulatorConfig, on_change: Callable[[EmulatorConfig, Mapping[str, Any]], None]) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._on_change = on_change

    def get(self) -> EmulatorConfig:
        return self._config

    def update(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Swap in a changed copy; ``on_change`` sees every key that was set, even to its old value."""
        with self._lock:
            self._config = self._config.with_changes(changes)
            self._on_change(self._config, changes)
            return self._config


class EmulatedClock:
    """Wall clock running ``time_scale`` times faster than the real one.

    Rate-limit windows live on this clock. Values sent to clients (reset epoch,
    retry-after) are converted back to the real clock, because that is the clock
    clients sleep on: with time_scale=60 an emulated hour resets after a real minute.
    """

    def __init__(self, time_scale: float = 1.0, real: Callable[[], float] = time.time) -> None:
        self._real = real
        self._lock = threading.Lock()
        self._scale = time_scale
        self._anchor_real = real()
        self._anchor_emulated = self._anchor_real

    @property
    def scale(self) -> float:
        return self._scale

    def real_now(self) -> float:
        return self._real()

    def now(self) -> float:
        with self._lock:
            return self._anchor_emulated + (self._real() - self._anchor_real) * self._scale

    def set_scale(self, time_scale: float) -> None:
        """Change speed without a jump: emulated time stays continuous."""
        with self._lock:
            real = self._real()
            self._anchor_emulated += (real - self._anchor_real) * self._scale
            self._anchor_real = real
            self._scale = time_scale

    def real_delay(self, emulated_seconds: float) -> float:
        return emulated_seconds / self._scale

    def real_time_of(self, emulated_epoch: float) -> float:
        return self._real() + (emulated_epoch - self.now()) / self._scale

    def emulated_time_of(self, real_epoch: float) -> float:
        """The emulated time of a real moment, assuming the speed has not changed since."""
        return self.now() - (self._real() - real_epoch) * self._scale
