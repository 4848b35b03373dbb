"""SQLite access helpers."""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable, Optional

from app import config

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL DEFAULT 'EUR',
    status TEXT NOT NULL DEFAULT 'open',
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


def connect(path: Optional[str] = None) -> sqlite3.Connection:
    """Open a connection whose rows can be read by column name."""
    conn = sqlite3.connect(path or config.DATABASE_PATH)
    conn.row_factory = sqlite3.Row
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    """Create the tables if they do not exist yet."""
    conn.executescript(SCHEMA)
    conn.commit()


def query_all(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict]:
    """Run a query and return every row as a dict."""
    return [dict(row) for row in conn.execute(sql, tuple(params)).fetchall()]


def query_one(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> Optional[dict]:
    """Run a query and return the first row as a dict, or None."""
    row = conn.execute(sql, tuple(params)).fetchone()
    return dict(row) if row is not None else None
