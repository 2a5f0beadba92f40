"""Prefill providers, chosen by a spec string.

`local` · `fake[:mode]` · `openai:<model>` · `anthropic:<model>` ·
`openai-compatible:<model>@<base_url>` (vLLM, Ollama: e.g. `openai-compatible:qwen2.5-vl@http://localhost:8000/v1`)
"""

from __future__ import annotations

from trova.ai.providers.base import (
    DraftProvider,
    DraftRequest,
    ProviderConfigError,
    ProviderError,
    ProviderRefusal,
    ProviderReply,
    ProviderTimeout,
)
from trova.config import Settings

__all__ = [
    "DraftProvider",
    "DraftRequest",
    "ProviderConfigError",
    "ProviderError",
    "ProviderRefusal",
    "ProviderReply",
    "ProviderTimeout",
    "get_provider",
    "parse_chain",
]

SPEC_HELP = (
    "use local, fake, openai:<model>, anthropic:<model> or openai-compatible:<model>@<base_url>"
)


def get_provider(spec: str, settings: Settings) -> DraftProvider:
    """Build the provider a spec names; ProviderConfigError with a sentence if it is malformed."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind == "local" and not rest:
        from trova.ai.providers.local import LocalProvider

        return LocalProvider(settings)
    if kind == "fake":
        from trova.ai.providers.fake import FakeProvider

        return FakeProvider(spec)
    if kind in ("openai", "anthropic") and rest:
        from trova.ai.providers.llm import LLMProvider

        return LLMProvider(kind, rest, settings)
    if kind == "openai-compatible":
        model, _, base_url = rest.partition("@")
        if not model or not base_url.startswith(("http://", "https://")):
            raise ProviderConfigError(
                f"Bad provider {spec!r}: write openai-compatible:<model>@<base_url>, "
                "e.g. openai-compatible:qwen2.5-vl-7b@http://localhost:8000/v1"
            )
        from trova.ai.providers.llm import LLMProvider

        return LLMProvider(kind, model, settings, base_url=base_url)
    raise ProviderConfigError(f"Unknown provider {spec!r}: {SPEC_HELP}.")


def parse_chain(text: str) -> list[str]:
    """ "openai:gpt-4o-mini -> local" or "openai:gpt-4o-mini,local" -> a list of specs."""
    parts = [p.strip() for chunk in text.split("->") for p in chunk.split(",")]
    return [p for p in parts if p]
