"""What the pages need without importing pydantic-ai: settings helpers, errors, instructions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from trova.config import Settings

INSTRUCTIONS = (Path(__file__).parent / "instructions.md").read_text(encoding="utf-8")
INSTRUCTIONS_HASH = hashlib.sha256(INSTRUCTIONS.encode()).hexdigest()[:12]
MAX_QUESTION = 2000
SETUP_HINT = (
    "The assistant needs an LLM: set TROVA_OPENAI_API_KEY or TROVA_ANTHROPIC_API_KEY, or "
    "TROVA_ASSISTANT_PROVIDER=openai-compatible:<model>@<url> for a local server "
    "(or 'scripted' for the offline demo)."
)


class NotConfigured(RuntimeError):
    """No LLM provider for the assistant (the rest of Trova works without one)."""


class RateLimited(RuntimeError):
    def __init__(self, wait_s: float) -> None:
        minutes = int(wait_s // 60) + 1
        super().__init__(
            f"You've asked the assistant a lot in the last hour. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or search the listings yourself meanwhile."
        )
        self.wait_s = wait_s


def provider_spec(settings: Settings) -> str | None:
    """The configured spec, or a default from the API keys; None when there is no LLM."""
    if settings.assistant_provider:
        return settings.assistant_provider.strip()
    if settings.openai_api_key:
        return "openai:gpt-4o-mini"
    if settings.anthropic_api_key:
        return "anthropic:claude-haiku-4-5"
    return None
