"""Login and logout handlers."""
from __future__ import annotations

from inventory.auth import sessions
from inventory.auth.passwords import create_reset_token, verify_password
from inventory.db.queries import find_user_by_email
from inventory.notifications import send_password_reset_email


def authenticate_user(conn, email: str, password: str):
    """Return the user when the email and password match, else None."""
    user = find_user_by_email(conn, email.strip().lower())
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user


def login(request, conn, settings):
    user = authenticate_user(conn, request.body.get("email", ""), request.body.get("password", ""))
    if user is None:
        return "401 Unauthorized", [], {"error": "invalid email or password"}
    session_id = request.cookies.get(sessions.SESSION_COOKIE)
    session = sessions.load_session(conn, session_id) if session_id else None
    if session is None:
        session_id = sessions.create_session(conn, user.id, settings.session_lifetime_s)
    else:
        sessions.attach_user(conn, session_id, user.id)
    cookie = sessions.session_cookie_header(session_id, settings.session_lifetime_s)
    return "200 OK", [cookie], {"user": {"id": user.id, "email": user.email}}


def logout(request, conn, settings):
    session_id = request.cookies.get(sessions.SESSION_COOKIE)
    if session_id:
        sessions.destroy_session(conn, session_id)
    return "204 No Content", [("Set-Cookie", f"{sessions.SESSION_COOKIE}=; Max-Age=0; Path=/")], {}


def request_password_reset(request, conn, settings):
    user = find_user_by_email(conn, request.body.get("email", "").strip().lower())
    if user is not None:
        token = create_reset_token(conn, user.id)
        send_password_reset_email(settings, user.email, token)
    return "202 Accepted", [], {}
