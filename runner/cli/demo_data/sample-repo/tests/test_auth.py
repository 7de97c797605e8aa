import sqlite3
import time
from pathlib import Path

import pytest

from inventory.auth.passwords import hash_password, verify_password
from inventory.auth.sessions import SessionExpired, create_session, load_session

SCHEMA = Path(__file__).parent.parent / "inventory" / "db" / "migrations" / "001_initial.sql"


@pytest.fixture
def conn():
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.executescript(SCHEMA.read_text())
    return db


def test_password_round_trip():
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)


def test_session_expiry(conn):
    session_id = create_session(conn, user_id=None, lifetime_s=1)
    assert load_session(conn, session_id)["id"] == session_id
    time.sleep(1.1)
    with pytest.raises(SessionExpired):
        load_session(conn, session_id)
