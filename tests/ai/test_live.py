"""Opt-in live prompt tests against real providers: TROVA_LIVE_TESTS=1 plus a key.

TROVA_LIVE_TESTS=1 TROVA_OPENAI_API_KEY=sk-... pytest tests/ai/test_live.py
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy.engine import Engine

from tests.ai.conftest import photo
from trova.ai.prefill import prefill
from trova.config import Settings

LIVE = os.environ.get("TROVA_LIVE_TESTS") == "1"
pytestmark = pytest.mark.skipif(
    not LIVE, reason="live provider tests are opt-in: TROVA_LIVE_TESTS=1"
)


def live_settings(ai_settings: Settings) -> Settings:
    env = {k: os.environ.get(f"TROVA_{k.upper()}") for k in ("openai_api_key", "anthropic_api_key")}
    return ai_settings.model_copy(update={k: v for k, v in env.items()})


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_live_provider_describes_a_violin(spec: str, ai_settings: Settings, engine: Engine) -> None:
    settings = live_settings(ai_settings)
    key = settings.openai_api_key if spec.startswith("openai") else settings.anthropic_api_key
    if key is None:
        pytest.skip(f"no key for {spec}")
    result = asyncio.run(prefill(engine, settings, photo("violin.jpg"), providers=[spec]))
    assert result.status == "ok", result.warning
    assert result.draft.category and result.draft.category.startswith("musical-instruments")
    assert result.draft.title and "violin" in result.draft.title.lower()
