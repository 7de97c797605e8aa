"""Server-side sessions kept in the database, referenced by the inv_session cookie."""
from __future__ import annotations

import json
import secrets
import time

SESSION_COOKIE = "inv_session"


class SessionExpired(Exception):
    """The cookie names a session whose lifetime is over."""


def create_session(conn, user_id: int, lifetime_s: int, now: float | None = None) -> str:
    session_id = secrets.token_urlsafe(32)
    expires_at = (now or time.time()) + lifetime_s
    conn.execute("INSERT INTO sessions (id, user_id, data, expires_at) VALUES (?, ?, ?, ?)",
                 (session_id, user_id, "{}", expires_at))
    conn.commit()
    return session_id


def load_session(conn, session_id: str, now: float | None = None) -> dict | None:
    """Return the session data, or raise SessionExpired when it is out of date."""
    row = conn.execute("SELECT user_id, data, expires_at FROM sessions WHERE id = ?",
                       (session_id,)).fetchone()
    if row is None:
        return None
    if row["expires_at"] < (now or time.time()):
        raise SessionExpired(session_id)
    return {"id": session_id, "user_id": row["user_id"], **json.loads(row["data"])}


def attach_user(conn, session_id: str, user_id: int) -> None:
    conn.execute("UPDATE sessions SET user_id = ? WHERE id = ?", (user_id, session_id))
    conn.commit()


def destroy_session(conn, session_id: str) -> None:
    conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
    conn.commit()


def session_cookie_header(session_id: str, lifetime_s: int) -> tuple[str, str]:
    return ("Set-Cookie",
            f"{SESSION_COOKIE}={session_id}; Max-Age={lifetime_s}; Path=/; HttpOnly; SameSite=Lax")
