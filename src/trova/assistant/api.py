"""JSON API of the buyer assistant: ask, then confirm or cancel the drafted message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, Field

from trova.assistant import pending as pending_service
from trova.assistant.base import NotConfigured, RateLimited
from trova.assistant.models import PendingMessage
from trova.assistant.pages import AssistantDep, visitor_id, visitor_key
from trova.deps import CurrentUser, OptionalUser, SessionDep, verify_same_origin

router = APIRouter(
    prefix="/api/assistant", tags=["assistant"], dependencies=[Depends(verify_same_origin)]
)


PendingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class AskIn(BaseModel):
    message: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = Field(None, max_length=40)


class PendingOut(BaseModel):
    id: int
    listing_id: int
    body: str
    status: str


class AskOut(BaseModel):
    trace_id: str | None
    conversation_id: str
    status: str
    answer: str
    cited_listing_ids: list[int]
    pending_messages: list[PendingOut]


def _pending_out(p: PendingMessage) -> PendingOut:
    assert p.id is not None
    return PendingOut(id=p.id, listing_id=p.listing_id, body=p.body, status=p.status)


@router.post("/messages", response_model=AskOut)
async def ask(
    body: AskIn,
    request: Request,
    session: SessionDep,
    assistant: AssistantDep,
    user: OptionalUser,
) -> AskOut:
    """One turn with the assistant. Drafted messages come back as `pending_messages`: they
    reach the seller only through POST /api/assistant/pending/{id}/confirm.

    Model trouble is not an HTTP error: `status` is ok, error, limit or timeout and `answer`
    is the sentence to show; without an LLM provider `status` is `not_configured`.
    """
    try:
        assistant.model()
        assistant.check_rate(visitor_key(request, user))
        result = await assistant.ask(
            body.message,
            conversation_id=body.conversation_id,
            user_id=user.id if user else None,
            visitor_id=visitor_id(request),
            surface="chat",
        )
    except NotConfigured as exc:
        # Like the prefill: a missing provider is a state of the site, not a server error.
        return AskOut(
            trace_id=None,
            conversation_id=body.conversation_id or "",
            status="not_configured",
            answer=str(exc),
            cited_listing_ids=[],
            pending_messages=[],
        )
    except RateLimited as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(int(exc.wait_s) + 1)},
        ) from None
    views = pending_service.views(session, result.pending_ids, user.id if user else None)
    return AskOut(
        trace_id=result.trace_id,
        conversation_id=result.conversation_id,
        status=result.status,
        answer=result.answer,
        cited_listing_ids=result.cited,
        pending_messages=[_pending_out(v.pending) for v in views],
    )


class ConfirmIn(BaseModel):
    body: str | None = Field(None, max_length=2000, description="The edited text, if any.")


@router.post("/pending/{pending_id}/confirm", response_model=PendingOut)
def confirm(
    pending_id: PendingId,
    session: SessionDep,
    user: CurrentUser,
    body: ConfirmIn | None = None,
) -> PendingOut:
    """Send a drafted message to the seller (as drafted, or with the edited `body`)."""
    try:
        pending_service.confirm(session, pending_id, user, body.body if body else None)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except pending_service.PendingError as exc:
        raise HTTPException(409, str(exc)) from None
    return _pending_out(pending_service.get_own(session, pending_id, user))


@router.post("/pending/{pending_id}/cancel", response_model=PendingOut)
def cancel(pending_id: PendingId, session: SessionDep, user: CurrentUser) -> PendingOut:
    try:
        pending = pending_service.cancel(session, pending_id, user)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except pending_service.PendingError as exc:
        raise HTTPException(409, str(exc)) from None
    return _pending_out(pending)
