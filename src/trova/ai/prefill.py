"""Prefill: photo → ListingDraft through the provider chain, every call logged in ai_calls.

Per provider: a timeout per attempt, retries with exponential backoff on retryable errors
(429, 5xx, timeouts, network), then the next provider in the chain (e.g. openai → local).
The caller always gets a result: a draft, or an empty draft with one friendly sentence.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.ai.draft import ListingDraft, repair
from trova.ai.models import AICall, CallStatus
from trova.ai.providers import (
    DraftRequest,
    ProviderConfigError,
    ProviderError,
    ProviderReply,
    ProviderTimeout,
    get_provider,
)
from trova.ai.registry import PromptVersion, resolve
from trova.ai.taxonomy import taxonomy
from trova.config import Settings
from trova.media.intake import resize_for_model

log = logging.getLogger(__name__)

FRIENDLY_FAILURE = "We couldn't suggest details for this photo — please fill in the form yourself."
FRIENDLY_EMPTY = "We couldn't recognize the item in this photo — please fill in the form yourself."

_INSTRUCTION = re.compile(
    r"ignore (all |any |the )?(previous |prior |your |above )?instructions|system prompt|"
    r"set (the )?(category|price|title)|you are (now )?(a|an) |as an ai\b",
    re.IGNORECASE,
)
_CONTACT = re.compile(r"https?://|www\.|\b[\w.+-]+@[\w-]+\.\w+|\+?\d[\d \-]{8,}\d")


@dataclass
class PrefillResult:
    ai_call_id: str | None
    draft: ListingDraft
    status: CallStatus
    provider: str
    warning: str | None = None
    price_hint: str | None = None
    flags: list[str] = field(default_factory=list)

    def api_dict(self) -> dict[str, Any]:
        return {
            "ai_call_id": self.ai_call_id,
            "status": self.status.value,
            "provider": self.provider,
            "draft": self.draft.model_dump(mode="json"),
            "warning": self.warning,
            "price_hint": self.price_hint,
            "flags": self.flags,
        }


def check_untrusted(draft: ListingDraft) -> tuple[ListingDraft, list[str]]:
    """Flag and neutralize replies that look steered by text in the photo.

    The schema already keeps every field in range; this catches what is valid but implausible:
    instructions echoed into the text, contact details, a price far below the category's band.
    """
    flags: list[str] = []
    updates: dict[str, Any] = {}
    conf = draft.confidence.model_copy()
    for name in ("title", "description", "brand"):
        value = getattr(draft, name)
        if value and _INSTRUCTION.search(value):
            flags.append(f"instruction_text:{name}")
            updates[name] = None
            setattr(conf, name, 0.0)
        elif value and _CONTACT.search(value):
            flags.append(f"contact_info:{name}")
            updates[name] = _CONTACT.sub("", value).strip() or None
    if draft.price_eur is not None and draft.category:
        prior = taxonomy().price_prior(draft.category)
        if draft.price_eur < prior.low / 5 or draft.price_eur > prior.high * 5:
            flags.append("price_implausible")
            updates.update(price_eur=None, price_low_eur=None, price_high_eur=None)
            conf.price = 0.0
    if not flags:
        return draft, flags
    return draft.model_copy(update={**updates, "confidence": conf}), flags


async def _attempt(
    provider: Any, request: DraftRequest, settings: Settings
) -> tuple[ProviderReply, int]:
    """Call one provider with timeout and retries; returns (reply, attempts)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            reply = await asyncio.wait_for(provider.describe(request), settings.prefill_timeout_s)
            return reply, attempts
        except TimeoutError:
            error: ProviderError = ProviderTimeout(
                f"no answer within {settings.prefill_timeout_s:g} s"
            )
        except ProviderError as exc:
            error = exc
        if not error.retryable or attempts > settings.prefill_retries:
            error.attempts = attempts  # type: ignore[attr-defined]
            raise error
        await asyncio.sleep(settings.prefill_backoff_s * 2 ** (attempts - 1))


def _status_of(error: ProviderError) -> CallStatus:
    if error.kind == "timeout":
        return CallStatus.timeout
    if error.kind == "invalid":
        return CallStatus.invalid
    return CallStatus.error


async def prefill(
    engine: Engine,
    settings: Settings,
    image_jpeg: bytes,
    *,
    photo_id: str | None = None,
    image_sha256: str | None = None,
    visitor_id: str | None = None,
    seller_id: int | None = None,
    providers: list[str] | None = None,
    prompt: str | PromptVersion | None = None,
    experiment: str | None = None,
    variant: str | None = None,
) -> PrefillResult:
    """Suggest a listing draft for a (normalized) photo and log the call."""
    chain = providers or settings.prefill_chain()
    if isinstance(prompt, PromptVersion):
        prompt_version = prompt
    else:
        with Session(engine) as session:
            prompt_version = resolve(prompt or settings.prefill_prompt, session)
    model_jpeg = resize_for_model(image_jpeg, settings.model_image_side)
    image = Image.open(io.BytesIO(model_jpeg))
    image.load()
    request = DraftRequest(
        jpeg=model_jpeg,
        image=image,
        prompt=prompt_version,
        session_factory=lambda: Session(engine),
    )
    failures: list[str] = []
    call = AICall(
        visitor_id=visitor_id,
        seller_id=seller_id,
        image_ref=photo_id,
        image_sha256=image_sha256,
        provider=chain[-1].partition(":")[0],
        model="",
        provider_spec=chain[-1],
        prompt_name=prompt_version.name,
        prompt_version=prompt_version.version,
        prompt_hash=prompt_version.content_hash,
        experiment=experiment,
        variant=variant,
        status=CallStatus.error,
    )
    started = time.perf_counter()
    draft = ListingDraft()
    flags: list[str] = []
    price_hint = None
    attempts_total = 0
    for index, spec in enumerate(chain):
        try:
            provider = get_provider(spec, settings)
            reply, attempts = await _attempt(provider, request, settings)
        except ProviderError as exc:
            attempts_total += getattr(
                exc, "attempts", 1 if not isinstance(exc, ProviderConfigError) else 0
            )
            failures.append(f"{spec}: {exc}")
            call.status, call.error = _status_of(exc), str(exc)[:2000]
            call.provider, call.provider_spec = spec.partition(":")[0], spec
            call.model = spec.partition(":")[2].partition("@")[0] or spec
            continue
        attempts_total += attempts
        draft, notes = repair(reply.raw, default_confidence=reply.default_confidence)
        draft, flags = check_untrusted(draft)
        flags = [*reply.flags, *flags, *(f"repaired:{n}" for n in notes)]
        price_hint = reply.price_hint
        if price_hint is None and draft.category:
            price_hint = await asyncio.to_thread(_comparables_hint, engine, draft.category)
        call.provider = getattr(provider, "name", spec.partition(":")[0])
        call.provider_spec, call.model = spec, reply.model
        call.raw_output = reply.raw_output[:100_000]
        call.tokens_in, call.tokens_out = reply.tokens_in, reply.tokens_out
        call.cost_usd = settings.cost_usd(reply.model, reply.tokens_in, reply.tokens_out)
        call.draft = draft.model_dump(mode="json")
        call.confidence = draft.confidence.model_dump()
        if draft.is_empty():
            call.status, call.error = CallStatus.invalid, "no usable field in the reply"
            failures.append(f"{spec}: empty or invalid output")
            if index < len(chain) - 1:
                continue
        else:
            call.status, call.error = CallStatus.ok, None
        break
    call.latency_ms = round((time.perf_counter() - started) * 1000)
    call.attempts = max(1, attempts_total)
    call.flags = flags or None
    earlier = [f for f in failures if not f.startswith(call.provider_spec + ":")]
    call.fallback_from = "; ".join(earlier)[:300] or None
    await asyncio.to_thread(_save, engine, call)
    if call.status != CallStatus.ok:
        log.warning("prefill failed: %s", "; ".join(failures))
        warning = FRIENDLY_EMPTY if call.status == CallStatus.invalid else FRIENDLY_FAILURE
        return PrefillResult(
            call.id, ListingDraft(), call.status, call.provider_spec, warning, None, flags
        )
    return PrefillResult(call.id, draft, call.status, call.provider_spec, None, price_hint, flags)


def _comparables_hint(engine: Engine, category: str) -> str | None:
    from trova.search.comparables import price_suggestion

    with Session(engine) as session:
        suggestion = price_suggestion(session, category)
    return suggestion.sentence() if suggestion.n else None


def _save(engine: Engine, call: AICall) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add(call)
        session.commit()
