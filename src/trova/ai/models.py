"""Tables of the AI feature: every prefill call, and prompt labels."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow


class CallStatus(StrEnum):
    ok = "ok"  # a usable draft
    invalid = "invalid"  # the provider answered, but nothing usable survived validation
    error = "error"  # provider error (HTTP, refusal, bad key…)
    timeout = "timeout"


class AICall(SQLModel, table=True):
    """One prefill: which provider, prompt and image; what came back; how long; how much."""

    __tablename__ = "ai_calls"

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    visitor_id: str | None = Field(default=None, max_length=64, index=True)
    seller_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    image_ref: str | None = Field(default=None, max_length=64)  # Photo.id; cleared by retention
    image_sha256: str | None = Field(default=None, max_length=64)
    surface: str = Field(default="prefill", max_length=32)
    provider: str = Field(max_length=40, index=True)  # "openai", "anthropic", "local", "fake"…
    model: str = Field(max_length=120)
    provider_spec: str = Field(max_length=300)
    fallback_from: str | None = Field(default=None, max_length=300)  # earlier failures in chain
    prompt_name: str | None = Field(default=None, max_length=80)
    prompt_version: str | None = Field(default=None, max_length=40)
    prompt_hash: str | None = Field(default=None, max_length=64, index=True)
    experiment: str | None = Field(default=None, max_length=80, index=True)
    variant: str | None = Field(default=None, max_length=80)
    raw_output: str | None = Field(default=None)
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    confidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    flags: list[str] | None = Field(default=None, sa_column=Column(JSON))
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    attempts: int = 1
    status: CallStatus = Field(default=CallStatus.ok, max_length=12, index=True)
    error: str | None = Field(default=None, max_length=2000)


class PromptLabel(SQLModel, table=True):
    """Which version of a prompt a label (production, candidate…) points at."""

    __tablename__ = "prompt_labels"

    name: str = Field(primary_key=True, max_length=80)
    label: str = Field(primary_key=True, max_length=40)
    version: str = Field(max_length=40)
    content_hash: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
