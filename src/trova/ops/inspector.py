"""The AI-call inspector: a filtered, keyset-paginated list of calls, and one call in full."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from trova.accounts.models import User
from trova.ai.models import AICall
from trova.ai.registry import PromptNotFound, PromptVersion, resolve
from trova.marketplace.models import Listing, ListingStatus, Photo
from trova.ops import _sql
from trova.ops.diff import FieldDiff, diff_fields, draft_values, listing_values
from trova.ops.feedback import thumbs_source
from trova.ops.models import FIELDS, Annotation, AnnotationQueue, CallOutcome, QueueItem

STATUSES = ("ok", "invalid", "error", "timeout")
PAGE_SIZE = 50


@dataclass(frozen=True)
class CallQuery:
    """The inspector's filters (every one optional) and the page cursor."""

    status: str | None = None
    provider: str | None = None
    model: str | None = None
    prompt: str | None = None  # name@version
    variant: str | None = None  # experiment:variant
    category: str | None = None  # a category id; a top level matches its subcategories
    start: date | None = None
    end: date | None = None  # inclusive
    thumbs_down: bool = False
    edited: str | None = None  # "any" or a field name
    low_confidence: bool = False
    before: str | None = None  # cursor: "<created_at iso>|<id>"
    limit: int = PAGE_SIZE

    def params(self, **override: Any) -> dict[str, str]:
        """Query-string parameters for links (filters kept, cursor replaced)."""
        values = {
            "status": self.status,
            "provider": self.provider,
            "model": self.model,
            "prompt": self.prompt,
            "variant": self.variant,
            "category": self.category,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "thumbs_down": "1" if self.thumbs_down else None,
            "edited": self.edited,
            "low_confidence": "1" if self.low_confidence else None,
            **override,
        }
        return {k: str(v) for k, v in values.items() if v}


@dataclass
class CallRow:
    id: str
    created_at: datetime
    status: str
    provider: str
    model: str
    prompt: str
    variant: str
    category: str | None
    title: str | None
    latency_ms: int
    cost_usd: float
    image_ref: str | None
    n_edited: int | None  # None: not published (yet)
    thumbs_up: int = 0
    thumbs_down: int = 0


@dataclass
class CallPage:
    rows: list[CallRow]
    next_cursor: str | None


def conditions(engine: Engine, q: CallQuery, low_confidence: float) -> list[ColumnElement[bool]]:
    c, o = _sql.calls.c, _sql.outcomes.c
    out: list[ColumnElement[bool]] = []
    if q.status:
        out.append(c.status == q.status)
    if q.provider:
        out.append(c.provider == q.provider)
    if q.model:
        out.append(c.model == q.model)
    if q.prompt:
        name, _, version = q.prompt.partition("@")
        out.append(c.prompt_name == name)
        if version:
            out.append(c.prompt_version == version)
    if q.variant:
        experiment, _, variant = q.variant.partition(":")
        out.append(c.experiment == experiment)
        if variant:
            out.append(c.variant == variant)
    if q.category:
        category = c.draft["category"].as_string()
        out.append(or_(category == q.category, category.like(q.category + "/%")))
    if q.start:
        out.append(c.created_at >= datetime.combine(q.start, time(), UTC))
    if q.end:
        out.append(c.created_at < datetime.combine(q.end + timedelta(days=1), time(), UTC))
    if q.thumbs_down:
        thumbs = thumbs_source(engine)
        out.append(c.id.in_(thumbs.calls_with(up=False)) if thumbs else false())
    if q.edited == "any":
        out.append(o.n_edited > 0)
    elif q.edited in FIELDS:
        out.append(o[f"st_{q.edited}"].in_(("edited", "cleared")))
    if q.low_confidence:
        out.append(low_confidence_condition(low_confidence))
    return out


def low_confidence_condition(threshold: float) -> ColumnElement[bool]:
    """A usable call with at least one filled field below the confidence threshold."""
    c = _sql.calls.c
    checks = []
    for name in FIELDS:
        value = c.draft["price_eur" if name == "price" else name]
        checks.append(
            and_(value.as_string().is_not(None), c.confidence[name].as_float() < threshold)
        )
    return and_(c.status == "ok", or_(*checks))


def list_calls(engine: Engine, q: CallQuery, low_confidence: float = 0.5) -> CallPage:
    c, o = _sql.calls.c, _sql.outcomes.c
    query = (
        select(
            c.id,
            c.created_at,
            c.status,
            c.provider,
            c.model,
            c.prompt_name,
            c.prompt_version,
            c.experiment,
            c.variant,
            c.draft["category"].as_string().label("category"),
            c.draft["title"].as_string().label("title"),
            c.latency_ms,
            c.cost_usd,
            c.image_ref,
            o.n_edited,
        )
        .select_from(_sql.joined_source())
        .where(*conditions(engine, q, low_confidence))
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(q.limit + 1)
    )
    if q.before:
        when, _, call_id = q.before.partition("|")
        try:
            at = datetime.fromisoformat(when)
        except ValueError:
            at = None
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < call_id)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        items = []
        for r in rows:
            m = r._mapping
            created = (
                m["created_at"] if m["created_at"].tzinfo else m["created_at"].replace(tzinfo=UTC)
            )
            items.append(
                CallRow(
                    id=m["id"],
                    created_at=created,
                    status=str(m["status"].value if hasattr(m["status"], "value") else m["status"]),
                    provider=m["provider"],
                    model=m["model"],
                    prompt=f"{m['prompt_name']}@{m['prompt_version']}" if m["prompt_name"] else "",
                    variant=f"{m['experiment']}:{m['variant']}" if m["experiment"] else "",
                    category=m["category"],
                    title=m["title"],
                    latency_ms=m["latency_ms"],
                    cost_usd=m["cost_usd"],
                    image_ref=m["image_ref"],
                    n_edited=m["n_edited"],
                )
            )
        thumbs = thumbs_source(engine)
        if thumbs is not None and items:
            t = thumbs.table.c
            counts = conn.execute(
                select(t[thumbs.call_column], t[thumbs.value_column], func.count())
                .where(t[thumbs.call_column].in_([i.id for i in items]))
                .group_by(t[thumbs.call_column], t[thumbs.value_column])
            ).all()
            by_id = {i.id: i for i in items}
            for call_id, value, n in counts:
                if value in thumbs.up_values:
                    by_id[call_id].thumbs_up += n
                elif value in thumbs.down_values:
                    by_id[call_id].thumbs_down += n
    cursor = None
    if more and items:
        last = items[-1]
        cursor = f"{last.created_at.isoformat()}|{last.id}"
    return CallPage(items, cursor)


# ---------------------------------------------------------------- one call


@dataclass
class CallDetail:
    call: AICall
    photo_id: str | None
    prompt: PromptVersion | None
    prompt_note: str | None
    rendered_prompt: str | None
    listing: Listing | None
    diffs: list[FieldDiff]
    outcome: CallOutcome | None
    queues: list[tuple[AnnotationQueue, bool]]  # (queue, call already in it)
    annotations: list[tuple[Annotation, str, str]]  # (annotation, annotator name, queue name)
    thumbs_up: int = 0
    thumbs_down: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class CallNotFound(LookupError):
    pass


def call_detail(session: Session, engine: Engine, call_id: str) -> CallDetail:
    call = session.get(AICall, call_id)
    if call is None:
        raise CallNotFound(f"No AI call {call_id!r}.")
    photo_id = call.image_ref if call.image_ref and session.get(Photo, call.image_ref) else None
    prompt, note, rendered = None, None, None
    if call.prompt_name and call.prompt_version:
        try:
            prompt = resolve(f"{call.prompt_name}@{call.prompt_version}")
            rendered = prompt.render()
            if call.prompt_hash and prompt.content_hash != call.prompt_hash:
                note = (
                    f"The file of {prompt.ref} has changed since this call (hash then "
                    f"{call.prompt_hash}, now {prompt.content_hash}): this is today's text."
                )
        except PromptNotFound:
            note = f"{call.prompt_name}@{call.prompt_version} is no longer on disk."
    listing = session.exec(
        sm_select(Listing)
        .where(Listing.ai_call_id == call.id)
        .order_by(col(Listing.published_at).desc())
    ).first()
    is_published = listing is not None and listing.status != ListingStatus.draft
    diffs = (
        diff_fields(draft_values(call.draft), listing_values(listing), call.confidence)
        if is_published
        else []
    )
    queues = session.exec(sm_select(AnnotationQueue).order_by(col(AnnotationQueue.name))).all()
    in_queues = set(
        session.exec(sm_select(QueueItem.queue_id).where(QueueItem.ai_call_id == call.id)).all()
    )
    annotations = [
        (a, name, qname)
        for a, name, qname in session.exec(
            sm_select(Annotation, User.name, AnnotationQueue.name)
            .join(QueueItem, col(QueueItem.id) == col(Annotation.item_id))
            .join(AnnotationQueue, col(AnnotationQueue.id) == col(QueueItem.queue_id))
            .join(User, col(User.id) == col(Annotation.annotator_id))
            .where(QueueItem.ai_call_id == call.id)
            .order_by(col(Annotation.created_at))
        ).all()
    ]
    detail = CallDetail(
        call=call,
        photo_id=photo_id,
        prompt=prompt,
        prompt_note=note,
        rendered_prompt=rendered,
        listing=listing,
        diffs=diffs,
        outcome=session.get(CallOutcome, call.id),
        queues=[(queue, queue.id in in_queues) for queue in queues],
        annotations=annotations,
    )
    thumbs = thumbs_source(engine)
    if thumbs is not None:
        one = _sql.calls.c.id == call.id
        with engine.connect() as conn:
            up = conn.execute(select(thumbs.count(_sql.calls.c.id, up=True)).where(one)).scalar()
            down = conn.execute(select(thumbs.count(_sql.calls.c.id, up=False)).where(one)).scalar()
        detail.thumbs_up, detail.thumbs_down = int(up or 0), int(down or 0)
    return detail
