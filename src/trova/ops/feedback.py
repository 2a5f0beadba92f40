"""Seller thumbs from the rollout room (issue D), when its tables exist.

Ops works without them: charts then say "no feedback data yet" and the thumbs filters and
sampling rules find nothing. Nothing here imports the rollout package at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, inspect, select
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class ThumbsSource:
    """Where thumbs live: a table with an ai_call_id column and an up/down value column.

    Today that is the rollout room's `rollout_feedback` (rating +1 / -1, one per seller/call).
    """

    table: Table
    call_column: str
    value_column: str
    up_values: tuple[Any, ...]
    down_values: tuple[Any, ...]
    time_column: str | None = None

    def _matches(self, up: bool) -> ColumnElement[bool]:
        return self.table.c[self.value_column].in_(self.up_values if up else self.down_values)

    def count(self, call_id: ColumnElement[Any], *, up: bool) -> Any:
        """Correlated scalar subquery: thumbs up (or down) of the call `call_id` names."""
        t = self.table
        return (
            select(func.count())
            .where(and_(t.c[self.call_column] == call_id, self._matches(up)))
            .scalar_subquery()
        )

    def calls_with(self, *, up: bool) -> Any:
        """SELECT ai_call_id of calls with at least one thumb up (or down)."""
        return select(self.table.c[self.call_column]).where(self._matches(up))

    def calls_since(self, since: Any) -> Any:
        """Calls whose thumbs arrived at or after `since` (None when there is no time column)."""
        if self.time_column is None:
            return None
        t = self.table
        return select(t.c[self.call_column]).where(t.c[self.time_column] >= since).distinct()


_CACHE: dict[tuple[int, str], ThumbsSource | None] = {}


def thumbs_source(engine: Engine) -> ThumbsSource | None:
    """The thumbs table if the rollout room's tables are in this database, else None."""
    key = (id(engine), str(engine.url))
    if key not in _CACHE:
        _CACHE[key] = _discover(engine)
    return _CACHE[key]


def forget(engine: Engine) -> None:
    """Look again next time (after a migration added the tables)."""
    _CACHE.pop((id(engine), str(engine.url)), None)


def _discover(engine: Engine) -> ThumbsSource | None:
    try:
        from trova.rollout.models import Feedback
    except ImportError:
        return None
    table: Table = Feedback.__table__  # type: ignore[attr-defined]
    if not inspect(engine).has_table(table.name):
        return None
    return ThumbsSource(
        table=table,
        call_column="ai_call_id",
        value_column="rating",
        up_values=(1,),
        down_values=(-1,),
        time_column="updated_at",
    )
