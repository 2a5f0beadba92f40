"""The in-process index worker: started with the app (WORKERS in trova.app), or standalone
with `trova index work` (several can run against PostgreSQL: jobs are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from trova.config import Settings
from trova.db.engine import finish_in_thread
from trova.search.jobs import worker_id
from trova.search.service import run_once, warm_up

log = logging.getLogger(__name__)
ERROR_PAUSE_S = 10.0


def work_round(engine: Engine, settings: Settings, owner: str) -> int:
    """One round; returns how many jobs it handled (0: idle). Never raises."""
    try:
        return run_once(engine, settings, owner).jobs
    except Exception:
        log.exception("search index worker round failed; retrying in %.0fs", ERROR_PAUSE_S)
        return -1


def _warm(engine: Engine, settings: Settings) -> None:
    try:
        warm_up(engine, settings)
    except Exception:
        log.exception("search warm-up failed")


async def index_worker(app: FastAPI) -> None:
    """Process index jobs until cancelled (polls every search_poll_s when idle)."""
    engine: Engine = app.state.engine
    settings: Settings = app.state.settings
    owner = worker_id()
    warmed = False
    while True:
        # finish_in_thread: on shutdown the round completes before the engine is disposed.
        handled = await finish_in_thread(lambda: work_round(engine, settings, owner))
        if not warmed and handled >= 0:
            warmed = True
            await finish_in_thread(lambda: _warm(engine, settings))
        if handled < 0:
            await asyncio.sleep(ERROR_PAUSE_S)
        elif handled == 0:
            await asyncio.sleep(settings.search_poll_s)


def run_forever(engine: Engine, settings: Settings, *, once: bool = False) -> int:
    """Blocking loop for `trova index work`; returns jobs handled (for --once)."""
    owner = worker_id()
    total = 0
    while True:
        handled = work_round(engine, settings, owner)
        total += max(handled, 0)
        if once and handled <= 0:
            return total
        if handled < 0:
            time.sleep(ERROR_PAUSE_S)
        elif handled == 0:
            time.sleep(settings.search_poll_s)
