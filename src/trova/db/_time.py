"""Time helpers: timestamps are timezone-aware UTC (SQLModel's UTCDateTime stores them)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
