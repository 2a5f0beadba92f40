"""Background work: mark abandoned flows and check guardrails, every few seconds."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.config import Settings
from trova.db.engine import finish_in_thread
from trova.rollout import events, guardrails

log = logging.getLogger(__name__)


def run_once(engine: Engine, settings: Settings) -> dict[str, int]:
    """One pass: abandoned flows marked, guardrail breaches (each pauses its variant)."""
    with Session(engine, expire_on_commit=False) as session:
        abandoned = events.mark_abandoned(session, timeout_s=settings.rollout_abandon_timeout_s)
        breaches = guardrails.check_running(session)
    for breach in breaches:
        log.warning(
            "rollout guardrail paused %s/%s: %s", breach.experiment, breach.variant, breach.reason
        )
    return {"abandoned": abandoned, "paused": len(breaches)}


async def rollout_worker(app: FastAPI) -> None:
    """Runs until cancelled; a failing pass is logged and retried next time."""
    settings: Settings = app.state.settings
    while True:
        try:
            await finish_in_thread(lambda: run_once(app.state.engine, settings))
        except Exception:
            log.exception("rollout worker pass failed")
        await asyncio.sleep(settings.rollout_worker_interval_s)
