"""Engine and session factory for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

T = TypeVar("T")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite (on sqlean.py, with sqlite-vec) gets WAL, foreign keys, a busy
    timeout."""
    if url.startswith("sqlite"):
        from trova.search.sqlite_ext import load_extensions, sqlite_dbapi  # sqlite-vec

        engine = create_engine(
            url,
            echo=echo,
            module=sqlite_dbapi(),
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            load_extensions(dbapi_conn)

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for scripts and workers: commits on success, rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def finish_in_thread(fn: Callable[[], T]) -> T:
    """Run blocking DB work in a thread; if the caller is cancelled (app shutdown), wait for the
    thread to finish before re-raising, so the engine is never disposed under a running query."""
    future = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
