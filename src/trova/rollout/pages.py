"""HTML: experiment list and results (ops console), thumbs feedback and field-edit events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import ClientDisconnect

from trova.deps import CSRFChecked, CurrentUser, SessionDep, SettingsDep
from trova.marketplace import service as marketplace
from trova.marketplace.models import ListingStatus
from trova.rollout import experiments, feedback, results, web
from trova.rollout.api import AdminUser, summary
from trova.rollout.models import CLIENT_EVENTS
from trova.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ops/experiments")
def experiments_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    rows = [
        summary(view, results.summary_counts(session, view.experiment.id or 0))
        for view in experiments.list_all(session)
    ]
    return render(request, "rollout_list.html", user=user, experiments=rows)


@router.get("/ops/experiments/{name}")
def results_page(
    name: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    population: Annotated[results.Population, Query()] = results.Population.real,
) -> Response:
    try:
        view = experiments.get(session, name)
    except experiments.ExperimentError as exc:
        raise HTTPException(404, str(exc)) from None
    data = results.compute(
        session, view, abandon_timeout_s=settings.rollout_abandon_timeout_s, population=population
    )
    return render(request, "rollout_results.html", user=user, r=data)


@router.post("/rollout/feedback", dependencies=[CSRFChecked])
def thumbs(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    ai_call_id: Annotated[str, Form(max_length=36)],
    rating: Annotated[str, Form(max_length=8)] = "",
    feedback_comment: Annotated[str, Form(max_length=feedback.MAX_COMMENT)] = "",
) -> Response:
    """htmx: a thumb (or a comment after it) on the pre-filled form; returns the widget."""
    assert user.id is not None
    error = None
    row = None
    try:
        if rating:
            row = feedback.record_thumbs(
                session,
                ai_call_id,
                seller_id=user.id,
                rating=rating,
                comment=feedback_comment or None,
                simulated=web.who(request, user).simulated,
            )
        else:
            row = feedback.add_comment(
                session, ai_call_id, seller_id=user.id, comment=feedback_comment
            )
    except feedback.FeedbackError as exc:
        error = str(exc)
    return render(
        request,
        "rollout_thumbs.html",
        status_code=422 if error else 200,
        ai_call_id=ai_call_id,
        fb_rating=row.rating if row else None,
        fb_comment=row.comment if row else None,
        fb_error=error,
        fb_sent=bool(row and row.comment),
    )


class ClientEvent(BaseModel):
    type: str = Field(max_length=24)
    listing_id: int
    field: str = Field(max_length=40)


@router.post("/rollout/events", dependencies=[CSRFChecked], status_code=204)
async def client_event(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The create form's script: a field changed (sent once per field and flow)."""
    try:
        event = ClientEvent.model_validate_json(await request.body())
    except ClientDisconnect:  # the page navigated away mid-request: nothing to record
        return Response(status_code=204)
    except ValidationError:
        raise HTTPException(
            422, 'Send JSON like {"type": "field_edited", "listing_id": 1, "field": "title"}.'
        ) from None
    if event.type not in CLIENT_EVENTS:
        raise HTTPException(422, "Only field_edited events can be sent from the page.")
    if event.field not in feedback.FIELDS:
        raise HTTPException(422, f"Unknown field {event.field!r}.")
    try:
        listing = marketplace.get_own(session, event.listing_id, user)
    except (marketplace.NotFound, marketplace.Forbidden):
        raise HTTPException(404, "No such draft listing of yours.") from None
    if listing.status == ListingStatus.draft:
        web.field_edited(request, session, user, listing, event.field)
    return Response(status_code=204)
