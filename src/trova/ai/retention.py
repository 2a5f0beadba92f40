"""Image retention for AI calls: after `ai_image_retention_days`, calls forget their photo.

Photos that never joined a listing (uploads of abandoned flows, API prefills) are deleted at the
same age; photos of listings stay as long as their listing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import Session, col, select

from trova.ai.models import AICall
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import finish_in_thread
from trova.marketplace.models import Photo
from trova.marketplace.photos import delete_files
from trova.media.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class RetentionResult:
    calls_cleared: int
    photos_deleted: int


def apply_retention(
    session: Session, settings: Settings, storage: Storage, *, now: datetime | None = None
) -> RetentionResult:
    cutoff = (now or utcnow()) - timedelta(days=settings.ai_image_retention_days)
    cleared = session.exec(
        update(AICall)
        .where(col(AICall.created_at) < cutoff, col(AICall.image_ref).is_not(None))
        .values(image_ref=None)
    ).rowcount
    stale = list(
        session.exec(
            select(Photo).where(col(Photo.listing_id).is_(None), col(Photo.created_at) < cutoff)
        )
    )
    for photo in stale:
        session.delete(photo)
    session.commit()
    delete_files(storage, [p.id for p in stale])
    return RetentionResult(int(cleared or 0), len(stale))


async def retention_worker(app: FastAPI, every_s: float = 3600) -> None:
    """Apply retention once an hour while the app runs."""

    def run_once() -> RetentionResult:
        # The session lives and dies inside the worker thread: cancelling the task at shutdown
        # must never close a session another thread is still using.
        with Session(app.state.engine) as session:
            return apply_retention(session, app.state.settings, app.state.storage)

    while True:
        try:
            result = await finish_in_thread(run_once)
            if result.calls_cleared or result.photos_deleted:
                log.info("retention: %s", result)
        except Exception:  # a worker must survive a bad hour
            log.exception("retention run failed")
        await asyncio.sleep(every_s)
