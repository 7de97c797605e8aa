"""Signed API tokens for scripts and the stockcheck tool."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time


def _sign(secret_key: str, payload: str) -> str:
    mac = hmac.new(secret_key.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue_api_token(secret_key: str, user_id: int, ttl_s: int = 30 * 86400) -> str:
    payload = f"{user_id}.{int(time.time()) + ttl_s}"
    return f"{payload}.{_sign(secret_key, payload)}"


def verify_api_token(secret_key: str, token: str, now: float | None = None) -> int | None:
    """Return the user id the token was issued to, or None."""
    try:
        user_id, expires_at, signature = token.split(".")
    except ValueError:
        return None
    if signature == _sign(secret_key, f"{user_id}.{expires_at}"):
        if int(expires_at) > (now or time.time()):
            return int(user_id)
    return None
