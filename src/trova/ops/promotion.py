"""Promote annotated calls into an eval dataset: a new immutable version, with lineage.

Each annotated call becomes one case of the evals room's dataset format (trova.evals):
the production photo, gold values from the annotation (the suggestion where judged correct,
the correction where wrong), and an `origin` naming the call, queue, annotations, annotators,
prompt and model. Calls two annotators disagree on are left out until they agree; calls
already promoted into that dataset are not added twice. The evals room turns the cases into
`dataset@v(n+1)` = the latest version's cases + these (content-hashed, so immutable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from trova.accounts.models import User
from trova.ai.models import AICall
from trova.media.storage import MissingFile, Storage, image_key
from trova.ops.annotation import AnnotationError, get_queue, gold_values, item_agreement
from trova.ops.models import Annotation, AnnotationQueue, PromotedCase, Promotion, QueueItem

PRICE_BAND = (0.75, 1.25)  # a corrected price p becomes the gold range [0.75 p, 1.25 p]


@dataclass
class Candidate:
    item: QueueItem
    call: AICall
    annotations: list[Annotation]
    gold: dict[str, Any]
    item_name: str


@dataclass
class Plan:
    ready: list[Candidate] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # call ids annotators disagree on
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class PromotionResult:
    dataset: str
    version: str  # name@vN
    version_id: str
    created: bool
    cases: int
    conflicts: int
    skipped: dict[str, int]
    promotion_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "version_id": self.version_id,
            "created": self.created,
            "cases": self.cases,
            "conflicts": self.conflicts,
            "skipped": self.skipped,
            "promotion_id": self.promotion_id,
        }


def plan(session: Session, queue: AnnotationQueue, dataset: str) -> Plan:
    """Which annotated calls of the queue can become cases of `dataset` now, and which not."""
    already = set(
        session.exec(sm_select(PromotedCase.ai_call_id).where(PromotedCase.dataset == dataset))
    )
    rows = session.exec(
        sm_select(QueueItem, Annotation)
        .join(Annotation, col(Annotation.item_id) == col(QueueItem.id))
        .where(QueueItem.queue_id == queue.id, col(Annotation.skipped).is_(False))
        .order_by(col(QueueItem.added_at), col(QueueItem.id), col(Annotation.created_at))
    ).all()
    grouped: dict[int, tuple[QueueItem, list[Annotation]]] = {}
    for item, annotation in rows:
        grouped.setdefault(item.id or 0, (item, []))[1].append(annotation)
    out = Plan()
    for item, notes in grouped.values():
        if item.ai_call_id in already:
            out.skip("already in the dataset")
            continue
        call = session.get(AICall, item.ai_call_id)
        if call is None:
            out.skip("call deleted")
            continue
        first = notes[0].verdicts
        if any(
            not all(item_agreement(call.draft, first, other.verdicts).values())
            for other in notes[1:]
        ):
            out.conflicts.append(call.id)
            continue
        gold = gold_values(call.draft, first)
        if not gold.get("category"):
            out.skip("no category in the gold values")
            continue
        item_name = str(first.get("_item") or gold.get("title") or "").strip()
        if not item_name:
            out.skip("no title or item name")
            continue
        out.ready.append(Candidate(item, call, notes, gold, item_name[:120]))
    return out


def _case(
    candidate: Candidate, queue: AnnotationQueue, image: bytes, by: User | None
) -> tuple[Any, bytes]:
    from trova.evals.manifest import CaseSpec, Gold

    gold = candidate.gold
    price = gold.get("price")
    price_range = (
        (round(price * PRICE_BAND[0], 2), round(price * PRICE_BAND[1], 2)) if price else None
    )
    call = candidate.call
    spec = CaseSpec(
        id=f"call-{call.id}".lower(),
        image=f"images/call-{call.id}.jpg",
        gold=Gold(
            category=gold["category"],
            item=candidate.item_name,
            color=gold.get("color"),
            brand=gold.get("brand"),
            condition=gold.get("condition"),
            price_range_eur=price_range,
        ),
        tags=["annotation", f"queue:{queue.name}"],
        source={
            "kind": "production photo",
            "photo_id": call.image_ref,
            "license": "seller upload, used under Trova's terms",
        },
        origin={
            "kind": "annotation",
            "ai_call_id": call.id,
            "queue": queue.name,
            "queue_item_id": candidate.item.id,
            "annotation_ids": [a.id for a in candidate.annotations],
            "annotators": [a.annotator_id for a in candidate.annotations],
            "gold_title": gold.get("title"),
            "gold_description": gold.get("description"),
            "prompt": f"{call.prompt_name}@{call.prompt_version}" if call.prompt_name else None,
            "prompt_hash": call.prompt_hash,
            "provider": call.provider_spec,
            "model": call.model,
            "call_created_at": call.created_at.isoformat(),
            "promoted_by": by.id if by else None,
        },
    )
    return spec, image


def promote(
    engine: Engine,
    storage: Storage,
    queue_name: str | int,
    dataset: str,
    *,
    by: User | None = None,
) -> PromotionResult:
    """Add the queue's agreed annotations to `dataset` as a new version."""
    try:
        from trova.evals.datasets import append_cases
        from trova.evals.manifest import DatasetError
    except ImportError:  # pragma: no cover - the evals room ships with Trova
        raise AnnotationError("Eval datasets are not available in this install.") from None
    dataset = dataset.strip()
    with Session(engine, expire_on_commit=False) as session:
        queue = get_queue(session, queue_name)
        todo = plan(session, queue, dataset)
        cases = []
        used: list[Candidate] = []
        for candidate in todo.ready:
            photo_id = candidate.call.image_ref
            try:
                image = storage.get(image_key(photo_id, "full")) if photo_id else None
            except (MissingFile, FileNotFoundError):
                image = None
            if image is None:
                todo.skip("photo no longer stored")
                continue
            try:
                cases.append(_case(candidate, queue, image, by))
            except ValidationError as exc:  # a gold value the dataset format rejects
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                todo.skip(f"gold rejected by the dataset format ({where}: {first['msg']})")
                continue
            used.append(candidate)
        if not cases:
            parts = [f"{n} {reason}" for reason, n in todo.skipped.items()]
            if todo.conflicts:
                parts.append(f"{len(todo.conflicts)} with annotator disagreement")
            detail = f" ({'; '.join(parts)})" if parts else ""
            raise AnnotationError(f"Nothing to promote from queue {queue.name!r}{detail}.")
        try:
            ref, created = append_cases(
                engine,
                dataset,
                cases,
                created_from=f"annotation:queue={queue.name}",
                note=f"{len(cases)} annotated production call(s) from queue {queue.name}",
            )
        except DatasetError as exc:
            raise AnnotationError(str(exc)) from None
        promotion = Promotion(
            queue_id=queue.id or 0,
            dataset=ref.dataset,
            dataset_version=ref.ref,
            n_cases=len(cases),
            n_conflicts=len(todo.conflicts),
            created_by=by.id if by else None,
        )
        session.add(promotion)
        session.flush()
        for candidate, (spec, _) in zip(used, cases, strict=True):
            session.add(
                PromotedCase(
                    promotion_id=promotion.id or 0,
                    dataset=ref.dataset,
                    ai_call_id=candidate.call.id,
                    item_id=candidate.item.id or 0,
                    case_id=spec.id,
                    annotation_ids=[a.id or 0 for a in candidate.annotations],
                )
            )
        session.commit()
        return PromotionResult(
            dataset=ref.dataset,
            version=ref.ref,
            version_id=ref.version_id,
            created=created,
            cases=len(cases),
            conflicts=len(todo.conflicts),
            skipped=dict(todo.skipped),
            promotion_id=promotion.id,
        )


def promotions(session: Session, queue: AnnotationQueue) -> list[Promotion]:
    return list(
        session.exec(
            sm_select(Promotion)
            .where(Promotion.queue_id == queue.id)
            .order_by(col(Promotion.created_at).desc())
        )
    )
