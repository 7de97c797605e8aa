"""Password hashing (PBKDF2) and the password reset flow."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 10_000
ALGORITHM = "pbkdf2_sha256"


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return "$".join([ALGORITHM, str(ITERATIONS),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str) -> bool:
    algorithm, iterations, salt_b64, digest_b64 = stored.split("$")
    if algorithm != ALGORITHM:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt_b64),
                                 int(iterations))
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def create_reset_token(conn, user_id: int) -> str:
    """Store a one-time token that the reset email links to."""
    token = secrets.token_urlsafe(24)
    conn.execute("INSERT INTO password_resets (token, user_id) VALUES (?, ?)", (token, user_id))
    conn.commit()
    return token


def reset_password(conn, token: str, new_password: str) -> bool:
    row = conn.execute("SELECT user_id FROM password_resets WHERE token = ?", (token,)).fetchone()
    if row is None:
        return False
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                 (hash_password(new_password), row["user_id"]))
    conn.execute("DELETE FROM password_resets WHERE token = ?", (token,))
    conn.commit()
    return True
