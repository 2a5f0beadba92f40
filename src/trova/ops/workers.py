"""Background workers (registered in app.WORKERS): the rollup refresher and the alert evaluator.

Both run their database work in a thread (SQLAlchemy is synchronous) and survive errors: a
failed cycle is logged and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import Engine

from trova.db.engine import finish_in_thread
from trova.ops import alerts, annotation, rollups

log = logging.getLogger(__name__)


def refresh_cycle(engine: Engine) -> None:
    """Roll up new calls and outcomes, then let every annotation queue sample."""
    rollups.refresh(engine)
    annotation.fill_all(engine)


async def rollup_refresher(app: Any) -> None:
    settings, engine = app.state.settings, app.state.engine
    while True:
        try:
            await finish_in_thread(lambda: refresh_cycle(engine))
        except Exception:
            log.exception("ops refresh failed; retrying in %.0f s", settings.ops_refresh_interval_s)
        await asyncio.sleep(settings.ops_refresh_interval_s)


async def alert_evaluator(app: Any) -> None:
    settings, engine = app.state.settings, app.state.engine
    while True:
        await asyncio.sleep(settings.ops_alert_interval_s)
        try:
            await finish_in_thread(lambda: alerts.evaluate(engine, settings))
        except Exception:
            log.exception(
                "alert evaluation failed; retrying in %.0f s", settings.ops_alert_interval_s
            )
