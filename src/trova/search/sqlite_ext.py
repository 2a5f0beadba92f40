"""SQLite with extensions: the app's SQLite engine runs on sqlean.py so sqlite-vec can load.

Python's stock sqlite3 module is often built without extension loading; sqlean.py is a
drop-in sqlite3 with it (and a newer SQLite). trova.db.engine.make_engine uses both helpers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def sqlite_dbapi() -> ModuleType:
    """The DBAPI module for SQLite engines: sqlean when installed, else the stock sqlite3."""
    try:
        import sqlean
    except ImportError:  # pragma: no cover - sqlean is a dependency; keep the app usable
        import sqlite3

        return sqlite3
    return sqlean


def load_extensions(dbapi_conn: Any) -> bool:
    """Load sqlite-vec into a fresh DBAPI connection; False when this SQLite cannot."""
    if not hasattr(dbapi_conn, "enable_load_extension"):
        return False
    try:
        import sqlite_vec
    except ImportError:  # pragma: no cover
        return False
    dbapi_conn.enable_load_extension(True)
    try:
        sqlite_vec.load(dbapi_conn)
    finally:
        dbapi_conn.enable_load_extension(False)
    return True
