"""Load the local model when the app starts, not on a seller's first photo."""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI

log = logging.getLogger(__name__)


async def warm_local_model(app: FastAPI) -> None:
    """Export (first run only) and load the local recognizer if the prefill chain uses it."""
    settings = app.state.settings
    if "local" not in settings.prefill_chain():
        return
    from trova.ai.local.model import get_recognizer

    started = time.perf_counter()
    try:
        await asyncio.to_thread(get_recognizer, settings.models_dir, settings.local_ocr)
    except Exception:  # prefill falls back to an empty form; the site must still start
        log.exception("could not load the local model")
        return
    log.info("local model ready in %.1f s", time.perf_counter() - started)
