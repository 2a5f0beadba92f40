from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from trova.config import Settings
from trova.db.engine import make_engine

PHOTOS = Path(__file__).resolve().parents[2] / "src" / "trova" / "demo" / "photos"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One exported ONNX model for the whole run (built here, not inside a timed prefill)."""
    from trova.ai.local import ensure_onnx

    cache = tmp_path_factory.mktemp("models")
    ensure_onnx(cache)
    return cache


@pytest.fixture
def ai_settings(sqlite_url: str, tmp_path: Path, model_cache: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="t",
        model_cache_dir=model_cache,
        prefill_backoff_s=0.0,
        prefill_timeout_s=5,
        openai_api_key="sk-test",  # type: ignore[arg-type]
        anthropic_api_key="sk-ant-test",  # type: ignore[arg-type]
    )


@pytest.fixture
def engine(ai_settings: Settings) -> Engine:
    return make_engine(ai_settings.db_url)


def photo(name: str) -> bytes:
    from trova.media.intake import normalize

    return normalize((PHOTOS / name).read_bytes()).data


def openai_reply(content: dict[str, Any] | str, *, refusal: str | None = None) -> dict[str, Any]:
    """A chat.completions response as OpenAI sends it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1763700000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None
                    if refusal
                    else (content if isinstance(content, str) else json.dumps(content)),
                    "refusal": refusal,
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 150, "total_tokens": 1350},
    }


GOOD_DRAFT = {
    "title": "Violin, full size, with bow",
    "description": "A brown wooden violin with four strings. The bow is visible next to it.",
    "category": "musical-instruments/strings",
    "category_alternatives": ["musical-instruments"],
    "condition": "good",
    "brand": None,
    "color": "brown",
    "price_eur": 180,
    "price_low_eur": 120,
    "price_high_eur": 250,
    "confidence": {
        "title": 0.9,
        "description": 0.8,
        "category": 0.95,
        "condition": 0.3,
        "brand": 0.0,
        "color": 0.8,
        "price": 0.5,
    },
}
