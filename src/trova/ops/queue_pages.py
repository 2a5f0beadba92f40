"""Annotation pages: the queues, one queue, the annotator's work view, promotion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from trova.accounts.models import User
from trova.ai.taxonomy import taxonomy
from trova.deps import CSRFChecked, SessionDep, StorageDep
from trova.ops import annotation, promotion
from trova.ops.access import AdminUser, StaffUser, flash
from trova.ops.models import Annotation, AnnotationQueue, QueueItem
from trova.ops.pages import page

router = APIRouter(prefix="/ops/queues", include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _queue(session: Session, name: str) -> AnnotationQueue:
    try:
        return annotation.get_queue(session, name)
    except annotation.AnnotationError as exc:
        raise HTTPException(404, str(exc)) from None


def _queues_page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    queues = session.exec(select(AnnotationQueue).order_by(col(AnnotationQueue.name))).all()
    rows = [
        (
            q,
            annotation.rule_of(q),
            annotation.stats(session, q, user),
            annotation.agreement(session, q),
        )
        for q in queues
    ]
    return page(
        request,
        "ops_queues.html",
        user=user,
        status_code=status_code,
        rows=rows,
        rule_labels=annotation.RULE_LABELS,
        error=error,
        values=values or {},
    )


@router.get("")
def queues_page(request: Request, session: SessionDep, user: StaffUser) -> Response:
    return _queues_page(request, session, user)


@router.post("", dependencies=[CSRFChecked])
def create_queue(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=40)] = "random",
    share: Annotated[str, Form(max_length=20)] = "100",
    daily_quota: Annotated[str, Form(max_length=10)] = "50",
    overlap: Annotated[str, Form(max_length=2)] = "1",
    min_edited: Annotated[str, Form(max_length=2)] = "2",
    below: Annotated[str, Form(max_length=10)] = "0.5",
    experiment: Annotated[str, Form(max_length=80)] = "",
    variant: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    values = {
        "name": name,
        "description": description,
        "kind": kind,
        "share": share,
        "daily_quota": daily_quota,
        "overlap": overlap,
        "min_edited": min_edited,
        "below": below,
        "experiment": experiment,
        "variant": variant,
    }
    try:
        share_value = float(share.strip().rstrip("%").replace(",", ".") or "100")
        rule = {
            "kind": kind,
            "share": share_value / 100
            if share_value > 1 or share.strip().endswith("%")
            else share_value,
            "min_edited": int(min_edited or 2),
            "below": float(below.replace(",", ".") or 0.5),
            "experiment": experiment.strip() or None,
            "variant": variant.strip() or None,
        }
        queue = annotation.create_queue(
            session,
            name=name,
            description=description,
            rule=rule,
            daily_quota=int(daily_quota),
            overlap=int(overlap),
            created_by=user,
        )
    except ValueError as exc:
        message = (
            str(exc)
            if isinstance(exc, annotation.AnnotationError)
            else "Share, quota, annotators per call, fields and threshold must be numbers."
        )
        return _queues_page(request, session, user, error=message, values=values, status_code=422)
    added = annotation.fill_queue(session, queue)
    flash(request, f"Queue {queue.name!r} created; {added} call(s) sampled so far.")
    return _see_other(f"/ops/queues/{queue.name}")


@router.get("/{name}")
def queue_page(name: str, request: Request, session: SessionDep, user: StaffUser) -> Response:
    queue = _queue(session, name)
    items = session.exec(
        select(QueueItem)
        .where(QueueItem.queue_id == queue.id)
        .order_by(col(QueueItem.added_at).desc(), col(QueueItem.id).desc())
        .limit(100)
    ).all()
    counts: dict[int, int] = {}
    if items:
        for item_id in session.exec(
            select(Annotation.item_id).where(
                col(Annotation.item_id).in_([i.id for i in items]),
                col(Annotation.skipped).is_(False),
            )
        ):
            counts[item_id] = counts.get(item_id, 0) + 1
    return page(
        request,
        "ops_queue.html",
        user=user,
        queue=queue,
        rule=annotation.rule_of(queue),
        stats=annotation.stats(session, queue, user),
        agreement=annotation.agreement(session, queue),
        items=items,
        counts=counts,
        promotions=promotion.promotions(session, queue),
        ready=len(promotion.plan(session, queue, _default_dataset(queue)).ready),
        default_dataset=_default_dataset(queue),
    )


def _default_dataset(queue: AnnotationQueue) -> str:
    return f"annotated-{queue.name}"


@router.post("/{name}/sample", dependencies=[CSRFChecked])
def sample_now(name: str, request: Request, session: SessionDep, user: AdminUser) -> Response:
    queue = _queue(session, name)
    added = annotation.fill_queue(session, queue)
    flash(request, f"{added} call(s) sampled into {queue.name}.", "info")
    return _see_other(f"/ops/queues/{queue.name}")


@router.get("/{name}/work")
def work_page(name: str, request: Request, session: SessionDep, user: StaffUser) -> Response:
    queue = _queue(session, name)
    item = annotation.next_item(session, queue, user)
    return _work(request, session, queue, user, item)


def _work(
    request: Request,
    session: Session,
    queue: AnnotationQueue,
    user: User,
    item: QueueItem | None,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    tax = taxonomy()
    return page(
        request,
        "ops_work.html",
        user=user,
        status_code=status_code,
        queue=queue,
        stats=annotation.stats(session, queue, user),
        w=annotation.work_item(session, item, user) if item else None,
        error=error,
        form=form or {},
        categories=list(tax.categories.values()),
        conditions=list(tax.conditions.values()),
        colors=list(tax.colors.values()),
    )


@router.post("/{name}/items/{item_id}", dependencies=[CSRFChecked])
async def annotate_item(
    name: str, item_id: int, request: Request, session: SessionDep, user: StaffUser
) -> Response:
    queue = _queue(session, name)
    item = session.get(QueueItem, item_id)
    if item is None or item.queue_id != queue.id:
        raise HTTPException(404, "This call is not in that queue.")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    note = form.get("note", "")
    if form.get("action") == "skip":
        annotation.save_annotation(session, item, user, None, skipped=True, note=note)
        return _see_other(f"/ops/queues/{queue.name}/work")
    try:
        verdicts = annotation.parse_verdicts(form)
    except annotation.AnnotationError as exc:
        return _work(
            request, session, queue, user, item, error=str(exc), form=form, status_code=422
        )
    annotation.save_annotation(session, item, user, verdicts, note=note)
    return _see_other(f"/ops/queues/{queue.name}/work")


@router.post("/{name}/promote", dependencies=[CSRFChecked])
def promote(
    name: str,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    user: StaffUser,
    dataset: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    queue = _queue(session, name)
    target = dataset.strip() or _default_dataset(queue)
    try:
        result = promotion.promote(request.app.state.engine, storage, queue.name, target, by=user)
    except annotation.AnnotationError as exc:
        flash(request, str(exc), "error")
        return _see_other(f"/ops/queues/{queue.name}")
    extra = f"; {result.conflicts} left out (annotators disagree)" if result.conflicts else ""
    flash(
        request,
        f"Promoted {result.cases} case(s) to {result.version} ({result.version_id[:12]}){extra}.",
    )
    return _see_other(f"/ops/queues/{queue.name}")
