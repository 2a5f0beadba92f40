"""JSON API: experiments (admins) and thumbs feedback on AI suggestions (sellers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from trova.accounts.models import User
from trova.deps import CurrentUser, SessionDep, SettingsDep, verify_same_origin
from trova.rollout import experiments, feedback, results
from trova.rollout.experiments import ExperimentError, ExperimentNotFound, VariantSpec
from trova.rollout.web import who

router = APIRouter(prefix="/api", tags=["rollout"], dependencies=[Depends(verify_same_origin)])


def require_admin(user: CurrentUser) -> User:
    if not user.has_role("admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only admins can manage experiments.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def _http(exc: ExperimentError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, ExperimentNotFound) else 422, str(exc))


class VariantIn(BaseModel):
    name: str = Field(max_length=80)
    provider: str = Field(max_length=300, description="off, local, fake, openai:<model>, …")
    prompt: str | None = Field(None, max_length=120, description="e.g. extract_listing@v2")
    weight: float | None = Field(None, ge=0, le=100, description="Percent; all or none")


class ExperimentIn(BaseModel):
    name: str = Field(max_length=80)
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    control: str | None = None
    description: str = Field("", max_length=1000)
    min_effect: float = Field(0.05, gt=0, lt=1)
    max_error_rate: float | None = Field(0.2, ge=0, le=1)
    max_empty_rate: float | None = Field(0.3, ge=0, le=1)
    max_latency_p95_ms: int | None = Field(15_000, ge=1)
    guardrail_window_s: int = Field(3600, ge=10)
    guardrail_min_calls: int = Field(20, ge=1)
    start: bool = False


class RampIn(BaseModel):
    weights: dict[str, float]
    reason: str = Field("", max_length=500)


class StopIn(BaseModel):
    reason: str = Field("", max_length=500)


def summary(view: experiments.ExperimentView, units: dict[str, int]) -> dict[str, Any]:
    e = view.experiment
    return {
        "name": e.name,
        "description": e.description,
        "surface": e.surface,
        "status": e.status,
        "created_at": e.created_at.isoformat(),
        "started_at": e.started_at.isoformat() if e.started_at else None,
        "stopped_at": e.stopped_at.isoformat() if e.stopped_at else None,
        "variants": [
            {
                "name": v.name,
                "provider": v.provider,
                "prompt": v.prompt,
                "control": v.is_control,
                "weight": v.weight,
                "status": v.status,
                "paused_reason": v.paused_reason,
                "units": units.get(v.name, 0),
            }
            for v in view.variants
        ],
    }


@router.get("/experiments")
def list_experiments(session: SessionDep, _admin: AdminUser) -> list[dict[str, Any]]:
    """Every experiment, newest first, with units assigned per variant."""
    return [
        summary(view, results.summary_counts(session, view.experiment.id or 0))
        for view in experiments.list_all(session)
    ]


@router.post("/experiments", status_code=201)
def create_experiment(body: ExperimentIn, session: SessionDep, _admin: AdminUser) -> dict[str, Any]:
    """Create an experiment (and start it with `"start": true`)."""
    try:
        view = experiments.create(
            session,
            body.name,
            [VariantSpec(v.name, v.provider, v.prompt, v.weight) for v in body.variants],
            control=body.control,
            description=body.description,
            min_effect=body.min_effect,
            max_error_rate=body.max_error_rate,
            max_empty_rate=body.max_empty_rate,
            max_latency_p95_ms=body.max_latency_p95_ms,
            guardrail_window_s=body.guardrail_window_s,
            guardrail_min_calls=body.guardrail_min_calls,
        )
        if body.start:
            view = experiments.start(session, body.name)
    except ExperimentError as exc:
        raise _http(exc) from None
    return summary(view, {})


@router.get("/experiments/{name}")
def show_experiment(
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    _admin: AdminUser,
    population: Annotated[results.Population, Query()] = results.Population.real,
) -> dict[str, Any]:
    """Per-variant results with tests, SRM check, guardrail state and ramp history."""
    try:
        view = experiments.get(session, name)
    except ExperimentError as exc:
        raise _http(exc) from None
    return results.compute(
        session,
        view,
        abandon_timeout_s=settings.rollout_abandon_timeout_s,
        population=population,
    )


@router.post("/experiments/{name}/start")
def start_experiment(name: str, session: SessionDep, _admin: AdminUser) -> dict[str, Any]:
    try:
        view = experiments.start(session, name)
    except ExperimentError as exc:
        raise _http(exc) from None
    return summary(view, {})


@router.post("/experiments/{name}/ramp")
def ramp_experiment(
    name: str, body: RampIn, session: SessionDep, _admin: AdminUser
) -> dict[str, Any]:
    try:
        view = experiments.ramp(session, name, body.weights, reason=body.reason)
    except ExperimentError as exc:
        raise _http(exc) from None
    return summary(view, results.summary_counts(session, view.experiment.id or 0))


@router.post("/experiments/{name}/stop")
def stop_experiment(
    name: str, session: SessionDep, _admin: AdminUser, body: StopIn | None = None
) -> dict[str, Any]:
    try:
        view = experiments.stop(session, name, reason=body.reason if body else "")
    except ExperimentError as exc:
        raise _http(exc) from None
    return summary(view, results.summary_counts(session, view.experiment.id or 0))


class FeedbackIn(BaseModel):
    ai_call_id: str = Field(max_length=36)
    rating: str = Field(pattern="^(up|down)$")
    comment: str | None = Field(None, max_length=feedback.MAX_COMMENT)


class FeedbackOut(BaseModel):
    ai_call_id: str
    rating: str
    comment: str | None


@router.post("/feedback", response_model=FeedbackOut)
def give_feedback(
    body: FeedbackIn, request: Request, session: SessionDep, user: CurrentUser
) -> FeedbackOut:
    """Thumbs up/down (+ optional comment) on the suggestions of one of your AI calls."""
    assert user.id is not None
    try:
        row = feedback.record_thumbs(
            session,
            body.ai_call_id,
            seller_id=user.id,
            rating=body.rating,
            comment=body.comment,
            simulated=who(request, user).simulated,
        )
    except feedback.FeedbackError as exc:
        raise HTTPException(404, str(exc)) from None
    return FeedbackOut(
        ai_call_id=row.ai_call_id, rating="up" if row.rating > 0 else "down", comment=row.comment
    )
