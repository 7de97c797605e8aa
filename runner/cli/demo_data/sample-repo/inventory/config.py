"""Settings read from the environment once, at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///inventory.db"
    secret_key: str = "change-me"
    session_lifetime_s: int = 8 * 3600
    cache_ttl_s: int = 60
    login_rate_limit: int = 10
    export_batch_size: int = 500
    smtp_host: str = "localhost"
    alert_recipients: tuple[str, ...] = ("stock@acme.example",)


def load_config(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from DATABASE_URL, INVENTORY_SECRET_KEY, CACHE_TTL, ..."""
    env = os.environ if environ is None else environ
    recipients = env.get("ALERT_RECIPIENTS")
    return Settings(
        database_url=env.get("DATABASE_URL", Settings.database_url),
        secret_key=env.get("INVENTORY_SECRET_KEY", Settings.secret_key),
        session_lifetime_s=int(env.get("SESSION_LIFETIME", Settings.session_lifetime_s)),
        cache_ttl_s=int(env.get("CACHE_TTL", Settings.cache_ttl_s)),
        login_rate_limit=int(env.get("LOGIN_RATE_LIMIT", Settings.login_rate_limit)),
        export_batch_size=int(env.get("EXPORT_BATCH_SIZE", Settings.export_batch_size)),
        smtp_host=env.get("SMTP_HOST", Settings.smtp_host),
        alert_recipients=tuple(recipients.split(",")) if recipients else Settings.alert_recipients,
    )
