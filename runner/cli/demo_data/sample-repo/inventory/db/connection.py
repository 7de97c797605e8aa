"""SQLite connections with row access by column name."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")


def get_connection(database_url: str) -> sqlite3.Connection:
    path = database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, timeout=5)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection):
    """Commit on success, roll back on any exception."""
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def migrate(conn: sqlite3.Connection) -> list[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")
    done = {row["name"] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied = []
    for script in sorted(MIGRATIONS.glob("*.sql")):
        if script.name not in done:
            conn.executescript(script.read_text())
            conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", (script.name,))
            applied.append(script.name)
    conn.commit()
    return applied
