"""Annotation queues: sampling rules, daily quotas, dedup; annotators' verdicts; agreement.

A queue samples production calls by one rule (random share, stratified by category,
thumbs-down, heavily edited by the seller, low confidence, errors, an experiment variant).
Sampling is deterministic: a call's place in the random order is a hash of (queue, call), so a
call passed over once is never picked later and a re-run picks the same calls. At most
`daily_quota` calls join per UTC day by rule (manual additions from the inspector do not
count), and a call is never in the same queue twice (a unique key backs this up).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from trova.accounts.models import User
from trova.ai.models import AICall
from trova.ai.taxonomy import taxonomy
from trova.db._time import utcnow
from trova.marketplace.models import Listing, ListingStatus
from trova.ops import _sql
from trova.ops.diff import draft_values, listing_values, same
from trova.ops.feedback import thumbs_source
from trova.ops.inspector import low_confidence_condition
from trova.ops.models import FIELDS, Annotation, AnnotationQueue, QueueItem

RuleKind = Literal[
    "random", "stratified", "thumbs_down", "edited", "low_confidence", "errors", "variant"
]
RULE_LABELS: dict[str, str] = {
    "random": "Random share of all calls",
    "stratified": "Random, stratified by category",
    "thumbs_down": "Seller gave thumbs down",
    "edited": "Heavily edited by the seller",
    "low_confidence": "Low confidence on a filled field",
    "errors": "Errors, timeouts and empty outputs",
    "variant": "One experiment variant",
}
VERDICTS = ("correct", "wrong")
GRACE = timedelta(minutes=15)  # calls are saved when they end; look back a little
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_TEXT_LIMITS = {"title": 80, "description": 1200, "brand": 60}


class AnnotationError(ValueError):
    """Bad input from a person; the message says what to fix."""


class SamplingRule(BaseModel):
    kind: RuleKind = "random"
    share: float = Field(1.0, gt=0, le=1, description="Share of matching calls to keep.")
    min_edited: int = Field(2, ge=1, le=len(FIELDS), description="edited: fields changed.")
    below: float = Field(0.5, ge=0, le=1, description="low_confidence: the threshold.")
    experiment: str | None = Field(None, max_length=80)
    variant: str | None = Field(None, max_length=80)
    lookback_days: int = Field(7, ge=0, le=90, description="How far the first sampling looks.")

    @model_validator(mode="after")
    def _needs_experiment(self) -> SamplingRule:
        if self.kind == "variant" and not self.experiment:
            raise ValueError("a variant rule needs an experiment (and usually a variant)")
        return self

    def describe(self) -> str:
        text_ = RULE_LABELS[self.kind]
        if self.kind == "edited":
            text_ += f" (≥ {self.min_edited} fields)"
        elif self.kind == "low_confidence":
            text_ += f" (< {self.below:.2f})"
        elif self.kind == "variant":
            text_ += f" ({self.experiment}:{self.variant or '*'})"
        if self.share < 1:
            text_ += f", {self.share:.0%} sampled"
        return text_


def rule_of(queue: AnnotationQueue) -> SamplingRule:
    return SamplingRule.model_validate(queue.rule or {})


def create_queue(
    session: Session,
    *,
    name: str,
    rule: SamplingRule | Mapping[str, Any],
    daily_quota: int = 50,
    overlap: int = 1,
    description: str = "",
    created_by: User | None = None,
) -> AnnotationQueue:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise AnnotationError(
            "A queue name is 1–60 lowercase letters, digits, '-' or '_' (e.g. thumbs-down)."
        )
    try:
        parsed = rule if isinstance(rule, SamplingRule) else SamplingRule.model_validate(rule)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        prefix = f"{where}: " if where else ""
        raise AnnotationError(f"Bad sampling rule: {prefix}{first['msg']}.") from None
    if not 0 <= daily_quota <= 100_000:
        raise AnnotationError("The daily quota must be between 0 and 100000.")
    if overlap not in (1, 2, 3):
        raise AnnotationError("Annotators per call must be 1, 2 or 3.")
    if session.exec(sm_select(AnnotationQueue).where(AnnotationQueue.name == name)).first():
        raise AnnotationError(f"There is already a queue named {name!r}.")
    queue = AnnotationQueue(
        name=name,
        description=description.strip()[:500],
        rule=parsed.model_dump(mode="json"),
        daily_quota=daily_quota,
        overlap=overlap,
        created_by=created_by.id if created_by else None,
    )
    session.add(queue)
    session.commit()
    session.refresh(queue)
    return queue


def get_queue(session: Session, name_or_id: str | int) -> AnnotationQueue:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        queue = session.get(AnnotationQueue, int(name_or_id))
    else:
        queue = session.exec(
            sm_select(AnnotationQueue).where(AnnotationQueue.name == str(name_or_id))
        ).first()
    if queue is None:
        raise AnnotationError(f"No annotation queue {name_or_id!r}.")
    return queue


# ---------------------------------------------------------------- sampling


def unit_hash(queue_id: int, call_id: str) -> float:
    """A call's fixed place in [0, 1) for one queue: the sampling order."""
    digest = hashlib.sha256(f"{queue_id}:{call_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time(), UTC)


def added_today(session: Session, queue: AnnotationQueue, now: datetime) -> int:
    stmt = select(func.count()).where(
        col(QueueItem.queue_id) == queue.id,
        col(QueueItem.reason) == "rule",
        col(QueueItem.added_at) >= _day_start(now),
    )
    return int(session.execute(stmt).scalar_one())


def _candidates(
    session: Session, queue: AnnotationQueue, rule: SamplingRule, since: datetime, now: datetime
) -> list[tuple[str, str]]:
    """(call id, top-level category) of calls matching the rule, not yet in the queue."""
    c, o = _sql.calls.c, _sql.outcomes.c
    not_queued = ~exists().where(
        and_(col(QueueItem.queue_id) == queue.id, col(QueueItem.ai_call_id) == c.id)
    )
    category = c.draft["category"].as_string()
    query = select(c.id, category).select_from(_sql.joined_source()).where(not_queued)
    if rule.kind == "edited":
        query = query.where(
            o.published_at >= since, o.published_at < now, o.n_edited >= rule.min_edited
        )
    elif rule.kind == "thumbs_down":
        bind = session.get_bind()
        thumbs = thumbs_source(getattr(bind, "engine", bind))  # type: ignore[arg-type]
        if thumbs is None:
            return []
        down = thumbs.calls_with(up=False)
        if thumbs.time_column:
            down = down.where(thumbs.table.c[thumbs.time_column] >= since)
        else:
            query = query.where(c.created_at >= since)
        query = query.where(c.id.in_(down))
    else:
        query = query.where(c.created_at >= since, c.created_at < now)
        if rule.kind == "errors":
            query = query.where(c.status != "ok")
        elif rule.kind == "low_confidence":
            query = query.where(low_confidence_condition(rule.below))
        elif rule.kind == "variant":
            query = query.where(c.experiment == rule.experiment)
            if rule.variant:
                query = query.where(c.variant == rule.variant)
    return [(cid, (cat or "").split("/")[0] or "none") for cid, cat in session.execute(query)]


def _lock(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7316002)"))


def fill_queue(session: Session, queue: AnnotationQueue, now: datetime | None = None) -> int:
    """Sample new calls into the queue (up to today's remaining quota); returns how many."""
    now = now or utcnow()
    _lock(session)
    rule = rule_of(queue)
    since = (queue.sampled_until or now - timedelta(days=rule.lookback_days)) - GRACE
    remaining = queue.daily_quota - added_today(session, queue, now)
    added = 0
    if remaining > 0:
        assert queue.id is not None
        picked = [
            (unit_hash(queue.id, cid), cid, cat)
            for cid, cat in _candidates(session, queue, rule, since, now)
        ]
        picked = sorted(p for p in picked if p[0] < rule.share)
        if rule.kind == "stratified":
            chosen = _round_robin(picked, remaining)
        else:
            chosen = [cid for _, cid, _ in picked[:remaining]]
        for call_id in chosen:
            session.add(
                QueueItem(queue_id=queue.id, ai_call_id=call_id, reason="rule", added_at=now)
            )
        added = len(chosen)
    queue.sampled_until = now
    session.add(queue)
    session.commit()
    return added


def _round_robin(picked: list[tuple[float, str, str]], limit: int) -> list[str]:
    """Take calls category by category in turn, each category in its hash order."""
    by_cat: dict[str, list[str]] = defaultdict(list)
    for _, cid, cat in picked:
        by_cat[cat].append(cid)
    out: list[str] = []
    cats = sorted(by_cat)
    depth = 0
    while len(out) < limit and any(depth < len(by_cat[cat]) for cat in cats):
        for cat in cats:
            if depth < len(by_cat[cat]) and len(out) < limit:
                out.append(by_cat[cat][depth])
        depth += 1
    return out


def fill_all(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Sample every queue once (the background refresher runs this)."""
    out = {}
    with Session(engine, expire_on_commit=False) as session:
        for queue in session.exec(sm_select(AnnotationQueue)).all():
            out[queue.name] = fill_queue(session, queue, now)
    return out


def add_call(
    session: Session, queue: AnnotationQueue, call_id: str, user: User | None = None
) -> tuple[QueueItem, bool]:
    """Put one call in a queue by hand (the inspector's button); (item, newly added)."""
    if session.get(AICall, call_id) is None:
        raise AnnotationError(f"No AI call {call_id!r}.")
    existing = session.exec(
        sm_select(QueueItem).where(QueueItem.queue_id == queue.id, QueueItem.ai_call_id == call_id)
    ).first()
    if existing is not None:
        return existing, False
    item = QueueItem(
        queue_id=queue.id or 0,
        ai_call_id=call_id,
        reason="manual",
        added_by=user.id if user else None,
    )
    session.add(item)
    try:
        session.commit()
    except IntegrityError:  # added by someone else a moment ago
        session.rollback()
        existing = session.exec(
            sm_select(QueueItem).where(
                QueueItem.queue_id == queue.id, QueueItem.ai_call_id == call_id
            )
        ).one()
        return existing, False
    session.refresh(item)
    return item, True


# ---------------------------------------------------------------- working a queue


@dataclass
class QueueStats:
    items: int
    done: int  # items with as many annotations as the queue's overlap
    mine: int  # items this annotator judged (or skipped)
    left_for_me: int
    added_today: int


def _judged_count() -> Any:
    """Correlated: non-skipped annotations of an item."""
    return (
        select(func.count())
        .where(col(Annotation.item_id) == col(QueueItem.id), col(Annotation.skipped).is_(False))
        .scalar_subquery()
    )


def _open_for(queue: AnnotationQueue, user: User) -> Any:
    """Items of the queue this user has not touched and that still need annotators."""
    mine = exists().where(
        and_(col(Annotation.item_id) == col(QueueItem.id), col(Annotation.annotator_id) == user.id)
    )
    return and_(col(QueueItem.queue_id) == queue.id, ~mine, _judged_count() < queue.overlap)


def stats(session: Session, queue: AnnotationQueue, user: User | None = None) -> QueueStats:
    items = session.execute(
        select(func.count()).where(col(QueueItem.queue_id) == queue.id)
    ).scalar_one()
    done = session.execute(
        select(func.count()).where(
            col(QueueItem.queue_id) == queue.id, _judged_count() >= queue.overlap
        )
    ).scalar_one()
    mine = left = 0
    if user is not None:
        mine = session.execute(
            select(func.count())
            .select_from(Annotation)
            .join(QueueItem, col(QueueItem.id) == col(Annotation.item_id))
            .where(col(QueueItem.queue_id) == queue.id, col(Annotation.annotator_id) == user.id)
        ).scalar_one()
        left = session.execute(select(func.count()).where(_open_for(queue, user))).scalar_one()
    return QueueStats(
        int(items), int(done), int(mine), int(left), added_today(session, queue, utcnow())
    )


def next_item(session: Session, queue: AnnotationQueue, user: User) -> QueueItem | None:
    """The oldest item this annotator has not seen that still needs annotators."""
    return session.exec(
        sm_select(QueueItem)
        .where(_open_for(queue, user))
        .order_by(col(QueueItem.added_at), col(QueueItem.id))
    ).first()


@dataclass
class WorkItem:
    item: QueueItem
    call: AICall
    suggested: dict[str, Any]
    published: dict[str, Any]  # empty when no published listing
    listing: Listing | None
    confidence: dict[str, Any]
    mine: Annotation | None


def work_item(session: Session, item: QueueItem, user: User) -> WorkItem:
    call = session.get(AICall, item.ai_call_id)
    assert call is not None
    listing = session.exec(
        sm_select(Listing).where(
            Listing.ai_call_id == call.id, Listing.status != ListingStatus.draft
        )
    ).first()
    mine = session.exec(
        sm_select(Annotation).where(
            Annotation.item_id == item.id, Annotation.annotator_id == user.id
        )
    ).first()
    return WorkItem(
        item=item,
        call=call,
        suggested=draft_values(call.draft),
        published=listing_values(listing) if listing else {},
        listing=listing,
        confidence=call.confidence or {},
        mine=mine,
    )


def parse_value(name: str, raw: str | None) -> Any:
    """A corrected value from a form, validated like the listing form (None = empty)."""
    value = (raw or "").strip()
    if not value:
        return None
    tax = taxonomy()
    if name == "category":
        if value not in tax.categories:
            raise AnnotationError(f"{value!r} is not a category; pick one from the list.")
        return value
    if name == "condition":
        if value not in tax.conditions:
            raise AnnotationError(f"{value!r} is not a condition; pick one from the list.")
        return value
    if name == "color":
        if value not in tax.colors:
            raise AnnotationError(f"{value!r} is not a color; pick one from the list.")
        return value
    if name == "price":
        try:
            price = float(value.replace("€", "").replace(" ", "").replace(",", "."))
        except ValueError:
            raise AnnotationError(f"The price {value!r} is not a number.") from None
        if not 0 < price <= 10_000_000:
            raise AnnotationError("The price must be more than 0 and at most 10,000,000.")
        return round(price, 2)
    limit = _TEXT_LIMITS.get(name, 4000)
    value = " ".join(value.split()) if name != "description" else value
    if len(value) > limit:
        raise AnnotationError(f"The {name} is longer than {limit} characters.")
    return value


def parse_verdicts(form: Mapping[str, Any]) -> dict[str, Any]:
    """verdict_<field> (correct|wrong) + value_<field> for every field, + optional item."""
    verdicts: dict[str, Any] = {}
    missing = []
    for name in FIELDS:
        verdict = str(form.get(f"verdict_{name}") or "")
        if verdict not in VERDICTS:
            missing.append(name)
            continue
        entry: dict[str, Any] = {"verdict": verdict}
        if verdict == "wrong":
            entry["value"] = parse_value(name, form.get(f"value_{name}"))
        verdicts[name] = entry
    if missing:
        raise AnnotationError("Judge every field before saving: " + ", ".join(missing) + ".")
    item = " ".join(str(form.get("item") or "").split())
    if item:
        if len(item) > 120:
            raise AnnotationError("The item name is longer than 120 characters.")
        verdicts["_item"] = item
    return verdicts


def save_annotation(
    session: Session,
    item: QueueItem,
    user: User,
    verdicts: dict[str, Any] | None,
    *,
    skipped: bool = False,
    note: str = "",
) -> Annotation:
    """Record (or replace) this annotator's verdicts on the item, or a skip."""
    assert user.id is not None and item.id is not None
    row = session.exec(
        sm_select(Annotation).where(
            Annotation.item_id == item.id, Annotation.annotator_id == user.id
        )
    ).first()
    if row is None:
        row = Annotation(item_id=item.id, annotator_id=user.id)
    row.verdicts = {} if skipped else dict(verdicts or {})
    row.skipped = skipped
    row.note = note.strip()[:1000]
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def gold_values(draft: dict[str, Any] | None, verdicts: Mapping[str, Any]) -> dict[str, Any]:
    """The right value per field: the suggestion where judged correct, else the correction."""
    suggested = draft_values(draft)
    out: dict[str, Any] = {}
    for name in FIELDS:
        entry = verdicts.get(name) or {}
        if entry.get("verdict") == "correct":
            out[name] = suggested.get(name)
        elif entry.get("verdict") == "wrong":
            out[name] = entry.get("value")
    return out


# ---------------------------------------------------------------- agreement


@dataclass
class Agreement:
    items: int  # items with two or more annotations
    per_field: dict[str, float | None]  # share of annotator pairs whose gold values match
    overall: float | None
    kappa: float | None  # Cohen's kappa on correct/wrong verdicts, first two annotators


def item_agreement(
    draft: dict[str, Any] | None, a: Mapping[str, Any], b: Mapping[str, Any]
) -> dict[str, bool]:
    """Per field: do two annotations lead to the same gold value?"""
    ga, gb = gold_values(draft, a), gold_values(draft, b)
    return {name: same(name, ga.get(name), gb.get(name)) for name in FIELDS}


def agreement(session: Session, queue: AnnotationQueue) -> Agreement:
    rows = session.exec(
        sm_select(Annotation, QueueItem.id, AICall.draft)
        .join(QueueItem, col(QueueItem.id) == col(Annotation.item_id))
        .join(AICall, col(AICall.id) == col(QueueItem.ai_call_id))
        .where(QueueItem.queue_id == queue.id, col(Annotation.skipped).is_(False))
        .order_by(col(Annotation.created_at), col(Annotation.id))
    ).all()
    by_item: dict[int, list[tuple[Annotation, Any]]] = defaultdict(list)
    for annotation, item_id, draft in rows:
        by_item[int(item_id or 0)].append((annotation, draft))
    agree: dict[str, list[bool]] = {name: [] for name in FIELDS}
    pairs: list[tuple[str, str]] = []
    items = 0
    for entries in by_item.values():
        if len(entries) < 2:
            continue
        items += 1
        draft = entries[0][1]
        for i in range(len(entries)):
            for j in range(i + 1, len(entries)):
                same_gold = item_agreement(draft, entries[i][0].verdicts, entries[j][0].verdicts)
                for name, ok in same_gold.items():
                    agree[name].append(ok)
        first, second = entries[0][0].verdicts, entries[1][0].verdicts
        for name in FIELDS:
            va = (first.get(name) or {}).get("verdict")
            vb = (second.get(name) or {}).get("verdict")
            if va and vb:
                pairs.append((va, vb))
    per_field = {n: (sum(v) / len(v) if v else None) for n, v in agree.items()}
    flat = [ok for v in agree.values() for ok in v]
    return Agreement(
        items=items,
        per_field=per_field,
        overall=sum(flat) / len(flat) if flat else None,
        kappa=cohen_kappa(pairs),
    )


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement beyond chance between two raters' labels (None without data or variance)."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    labels = {label for pair in pairs for label in pair}
    expected = sum(
        (sum(a == label for a, _ in pairs) / n) * (sum(b == label for _, b in pairs) / n)
        for label in labels
    )
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)
