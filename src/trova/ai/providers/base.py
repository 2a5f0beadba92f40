"""What every prefill provider implements, and the errors they raise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from PIL import Image
from sqlmodel import Session

from trova.ai.draft import RawDraft
from trova.ai.registry import PromptVersion


class ProviderError(Exception):
    """A provider call failed. `retryable` errors (429, 5xx, network) are retried with backoff."""

    retryable: bool = False
    kind: str = "error"  # "error" | "timeout" | "refused" | "config"

    def __init__(self, message: str, *, retryable: bool | None = None, kind: str | None = None):
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        if kind is not None:
            self.kind = kind


class ProviderConfigError(ProviderError):
    """Misconfiguration (no API key, unknown spec): not retried, but the chain falls back."""

    kind = "config"


class ProviderTimeout(ProviderError):
    retryable = True
    kind = "timeout"


class ProviderRefusal(ProviderError):
    kind = "refused"


@dataclass
class DraftRequest:
    """One photo to describe. `jpeg` is the normalized image resized for models."""

    jpeg: bytes
    image: Image.Image
    prompt: PromptVersion
    session_factory: Callable[[], Session] | None = None  # for comparables (local model)


@dataclass
class ProviderReply:
    raw: RawDraft | dict[str, Any] | None
    raw_output: str  # exactly what came back (JSON text), for the call inspector
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    flags: list[str] = field(default_factory=list)
    # Confidences the provider computed itself (the local model); LLMs report theirs in `raw`.
    default_confidence: float = 0.7
    price_hint: str | None = None  # e.g. "Similar items are listed for €40–€65 (12 listings)."


class DraftProvider(Protocol):
    """A way to turn a photo into a RawDraft; chosen by a spec string."""

    supports_images: ClassVar[bool]
    spec: str
    model: str

    @property
    def name(self) -> str:
        """ "openai", "anthropic", "openai-compatible", "local" or "fake"."""
        ...

    async def describe(self, request: DraftRequest) -> ProviderReply: ...
