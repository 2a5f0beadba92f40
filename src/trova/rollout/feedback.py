"""Seller feedback on AI suggestions.

Explicit: thumbs up/down (+ an optional comment) on the pre-filled form, one per AI call and
seller (a second click changes it). Implicit: when a listing that started from an AI draft is
published, each field is compared with the draft — accepted, edited, cleared or added — with
the edit distance for text. Edited values are candidate ground truth for the eval set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import delete
from sqlmodel import Session, select

from trova.ai.models import AICall
from trova.db._time import utcnow
from trova.marketplace.models import Listing
from trova.rollout.models import Feedback, FieldFeedback, FieldOutcome

TEXT_FIELDS = ("title", "description", "brand")
CHOICE_FIELDS = ("category", "condition", "color")
FIELDS = (*TEXT_FIELDS, *CHOICE_FIELDS, "price")
MAX_COMMENT = 1000


class FeedbackError(ValueError):
    """The message is one sentence for the seller."""


def record_thumbs(
    session: Session,
    ai_call_id: str,
    *,
    seller_id: int,
    rating: str | int,
    comment: str | None = None,
    listing_id: int | None = None,
    simulated: bool = False,
) -> Feedback:
    """Store (or change) a seller's thumbs on one of *their* AI calls."""
    call = session.get(AICall, ai_call_id)
    if call is None or call.seller_id != seller_id:
        raise FeedbackError("These suggestions are not yours to rate.")
    value = {"up": 1, "1": 1, "+1": 1, "down": -1, "-1": -1}.get(str(rating).strip().lower())
    if value is None:
        raise FeedbackError("Rate the suggestions with up or down.")
    text = " ".join((comment or "").split()) or None
    if text and len(text) > MAX_COMMENT:
        raise FeedbackError(f"Keep the comment to {MAX_COMMENT:,} characters or fewer.")
    row = session.exec(
        select(Feedback).where(Feedback.ai_call_id == ai_call_id, Feedback.seller_id == seller_id)
    ).first()
    if row is None:
        row = Feedback(ai_call_id=ai_call_id, seller_id=seller_id, rating=value)
    row.rating = value
    if comment is not None:
        row.comment = text
    row.listing_id = listing_id or row.listing_id
    row.simulated = simulated
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def add_comment(session: Session, ai_call_id: str, *, seller_id: int, comment: str) -> Feedback:
    """Attach a comment to the thumbs already given."""
    row = session.exec(
        select(Feedback).where(Feedback.ai_call_id == ai_call_id, Feedback.seller_id == seller_id)
    ).first()
    if row is None:
        raise FeedbackError("Rate the suggestions with a thumb first.")
    return record_thumbs(
        session,
        ai_call_id,
        seller_id=seller_id,
        rating=row.rating,
        comment=comment,
        listing_id=row.listing_id,
        simulated=row.simulated,
    )


# ---------------------------------------------------------------- implicit feedback


@dataclass(frozen=True)
class FieldDiff:
    field: str
    outcome: FieldOutcome
    ai_value: str | None
    final_value: str | None
    distance: int | None = None
    similarity: float | None = None


def _norm(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def diff_fields(draft: dict[str, Any], listing: Listing) -> list[FieldDiff]:
    """Compare an AI draft (ai_calls.draft) with what was published, field by field.

    Fields empty in both are skipped. Text is compared with whitespace collapsed; the price to
    the cent.
    """
    out: list[FieldDiff] = []
    for name in FIELDS:
        if name == "price":
            ai_raw = draft.get("price_eur")
            ai_cents = round(float(ai_raw) * 100) if ai_raw else None
            final_cents = listing.price_cents
            ai = f"{ai_cents / 100:.2f}" if ai_cents else ""
            final = f"{final_cents / 100:.2f}" if final_cents else ""
        else:
            ai, final = _norm(draft.get(name)), _norm(getattr(listing, name))
        if not ai and not final:
            continue
        if not ai:
            out.append(FieldDiff(name, FieldOutcome.added, None, final))
            continue
        if not final:
            out.append(FieldDiff(name, FieldOutcome.cleared, ai, None, len(ai), 0.0))
            continue
        if ai == final:
            out.append(FieldDiff(name, FieldOutcome.accepted, ai, final, 0, 1.0))
            continue
        if name == "price":
            a, f = float(ai), float(final)
            similarity = max(0.0, 1 - abs(a - f) / max(a, f))
            out.append(FieldDiff(name, FieldOutcome.edited, ai, final, None, round(similarity, 4)))
        elif name in TEXT_FIELDS:
            distance = Levenshtein.distance(ai, final)
            similarity = Levenshtein.normalized_similarity(ai, final)
            out.append(
                FieldDiff(name, FieldOutcome.edited, ai, final, distance, round(similarity, 4))
            )
        else:
            out.append(FieldDiff(name, FieldOutcome.edited, ai, final, None, 0.0))
    return out


def record_publish_diff(
    session: Session, listing: Listing, *, simulated: bool = False
) -> list[FieldDiff]:
    """Store the field-level diff of a published listing against its AI draft (if it had one).

    Re-running replaces the rows of that listing, so a retried publish never double counts.
    """
    if listing.id is None or not listing.ai_call_id:
        return []
    call = session.get(AICall, listing.ai_call_id)
    if call is None or not call.draft:
        return []
    diffs = diff_fields(call.draft, listing)
    session.execute(delete(FieldFeedback).where(FieldFeedback.listing_id == listing.id))  # type: ignore[arg-type]
    for d in diffs:
        session.add(
            FieldFeedback(
                ai_call_id=call.id,
                listing_id=listing.id,
                field=d.field,
                outcome=d.outcome.value,
                ai_value=d.ai_value[:4000] if d.ai_value else None,
                final_value=d.final_value[:4000] if d.final_value else None,
                distance=d.distance,
                similarity=d.similarity,
                simulated=simulated,
            )
        )
    session.commit()
    return diffs


def corrections(session: Session, *, limit: int = 500) -> list[dict[str, Any]]:
    """Edited fields of real (not simulated) listings: candidate ground truth for evals."""
    rows = session.exec(
        select(FieldFeedback)
        .where(
            FieldFeedback.outcome == FieldOutcome.edited.value,
            FieldFeedback.simulated == False,  # noqa: E712
        )
        .order_by(FieldFeedback.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    ).all()
    return [
        {
            "ai_call_id": r.ai_call_id,
            "listing_id": r.listing_id,
            "field": r.field,
            "ai_value": r.ai_value,
            "final_value": r.final_value,
            "distance": r.distance,
        }
        for r in rows
    ]
