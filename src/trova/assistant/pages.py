"""Pages: the buyer chat (/assistant) and the ops views of traces, tool rollout and agent evals."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from trova.accounts.models import User
from trova.assistant import pending as pending_service
from trova.assistant import rollout
from trova.assistant.base import INSTRUCTIONS_HASH, NotConfigured, RateLimited, provider_spec
from trova.assistant.models import AgentEvalRun, AgentTrace, TraceStatus
from trova.assistant.render import answer_html
from trova.assistant.traces import get_trace, list_traces
from trova.config import Settings
from trova.deps import CSRFChecked, CurrentUser, OptionalUser, SessionDep, SettingsDep
from trova.marketplace import service
from trova.marketplace.models import Listing
from trova.web.templating import render

router = APIRouter(include_in_schema=False)
CONVERSATION_KEY = "assistant_conversation"
MAX_SHOWN_TURNS = 30


if TYPE_CHECKING:
    from trova.assistant.agent import Assistant


def get_assistant(request: Request) -> Assistant:
    """The app's assistant, built on first use (tests may put one on app.state first).

    Imported lazily: pydantic-ai adds most of a second to the app's start-up.
    """
    assistant: Assistant | None = getattr(request.app.state, "assistant", None)
    if assistant is None:
        from trova.assistant.agent import Assistant

        settings: Settings = request.app.state.settings
        assistant = Assistant(settings, request.app.state.engine)
        request.app.state.assistant = assistant
    return assistant


if TYPE_CHECKING:
    AssistantDep = Assistant
else:
    AssistantDep = Annotated[Any, Depends(get_assistant)]


def visitor_id(request: Request) -> str:
    """The prefill's visitor cookie if present, else a random id kept in the session."""
    vid = request.cookies.get("trova_vid") or request.session.get("assistant_vid")
    if not isinstance(vid, str) or not vid:
        vid = secrets.token_hex(12)
        request.session["assistant_vid"] = vid
    return vid[:64]


def visitor_key(request: Request, user: User | None) -> str:
    return f"user:{user.id}" if user is not None else f"visitor:{visitor_id(request)}"


def require_admin(user: CurrentUser) -> User:
    if not user.has_role("admin"):
        raise HTTPException(403, "Only admins can see the ops console.")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


# ---------------------------------------------------------------- the buyer chat


@dataclass
class TurnView:
    question: str
    answer: str
    status: str
    trace_id: str
    listings: list[Listing] = field(default_factory=list)
    pending: list[pending_service.PendingView] = field(default_factory=list)

    @property
    def answer_html(self) -> Any:
        return answer_html(self.answer, {lst.id for lst in self.listings if lst.id})


def _turn_view(session: Session, trace: AgentTrace, user_id: int | None) -> TurnView:
    ids = trace.cited_ids or []
    found = {lst.id: lst for lst in session.exec(select(Listing).where(col(Listing.id).in_(ids)))}
    return TurnView(
        question=trace.question,
        answer=trace.answer,
        status=trace.status,
        trace_id=trace.id,
        listings=[found[i] for i in ids if i in found],
        pending=pending_service.views(session, trace.pending_ids or [], user_id),
    )


def _photos(session: Session, turns: list[TurnView]) -> dict[int, Any]:
    ids = [lst.id for turn in turns for lst in turn.listings if lst.id is not None]
    return service.photos_of(session, ids)


def _conversation(
    session: Session, request: Request, user: User | None
) -> tuple[str | None, list[TurnView]]:
    conversation_id = request.session.get(CONVERSATION_KEY)
    if not isinstance(conversation_id, str):
        return None, []
    stmt = (
        select(AgentTrace)
        .where(AgentTrace.conversation_id == conversation_id, AgentTrace.surface == "chat")
        .order_by(col(AgentTrace.created_at).desc())
        .limit(MAX_SHOWN_TURNS)
    )
    turns = []
    vid = visitor_id(request)
    for trace in reversed(list(session.exec(stmt))):
        mine = trace.user_id == user.id if user else trace.visitor_id == vid
        if mine:
            turns.append(_turn_view(session, trace, user.id if user else None))
    return conversation_id, turns


@router.get("/assistant")
def assistant_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    assistant = get_assistant(request)
    try:
        assistant.model()
    except NotConfigured as exc:
        problem = str(exc) if assistant.spec else None
        return render(request, "assistant_setup.html", user=user, problem=problem)
    _, turns = _conversation(session, request, user)
    return render(
        request,
        "assistant.html",
        user=user,
        turns=turns,
        photos=_photos(session, turns),
        spec=assistant.spec,
    )


@router.post("/assistant", dependencies=[CSRFChecked])
async def assistant_ask(
    request: Request,
    session: SessionDep,
    assistant: AssistantDep,
    user: OptionalUser,
    message: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    htmx = bool(request.headers.get("hx-request"))
    question = message.strip()
    conversation_id = request.session.get(CONVERSATION_KEY)
    turn: TurnView
    if not question:
        turn = TurnView(
            question="", answer="Tell me what you are looking for.", status="empty", trace_id=""
        )
    else:
        try:
            assistant.check_rate(visitor_key(request, user))
            result = await assistant.ask(
                question,
                conversation_id=conversation_id if isinstance(conversation_id, str) else None,
                user_id=user.id if user else None,
                visitor_id=visitor_id(request),
            )
        except NotConfigured as exc:
            problem = str(exc) if assistant.spec else None
            return render(
                request, "assistant_setup.html", status_code=503, user=user, problem=problem
            )
        except RateLimited as exc:
            turn = TurnView(question=question, answer=str(exc), status="rate_limited", trace_id="")
        else:
            request.session[CONVERSATION_KEY] = result.conversation_id
            trace = session.get(AgentTrace, result.trace_id)
            assert trace is not None
            turn = _turn_view(session, trace, user.id if user else None)
    if not htmx:
        return RedirectResponse("/assistant#ask", status_code=303)
    return render(
        request,
        "assistant_turn.html",
        user=user,
        turn=turn,
        photos=_photos(session, [turn]),
    )


@router.post("/assistant/new", dependencies=[CSRFChecked])
def assistant_new(request: Request) -> Response:
    request.session.pop(CONVERSATION_KEY, None)
    return RedirectResponse("/assistant", status_code=303)


PendingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _pending_response(
    request: Request, view: pending_service.PendingView, error: str | None = None
) -> Response:
    if request.headers.get("hx-request"):
        return render(request, "assistant_pending.html", item=view, error=error)
    return RedirectResponse("/assistant#ask", status_code=303)


@router.post("/assistant/pending/{pending_id}/confirm", dependencies=[CSRFChecked])
def pending_confirm(
    pending_id: PendingId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    body: Annotated[str | None, Form(max_length=5000)] = None,
) -> Response:
    error = None
    try:
        pending_service.confirm(session, pending_id, user, body)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except pending_service.PendingError as exc:
        error = str(exc)
    view = pending_service.views(session, [pending_id], user.id)[0]
    return _pending_response(request, view, error)


@router.post("/assistant/pending/{pending_id}/cancel", dependencies=[CSRFChecked])
def pending_cancel(
    pending_id: PendingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    error = None
    try:
        pending_service.cancel(session, pending_id, user)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except pending_service.PendingError as exc:
        error = str(exc)
    view = pending_service.views(session, [pending_id], user.id)[0]
    return _pending_response(request, view, error)


# ---------------------------------------------------------------- ops: traces, tools, evals

PAGE = 50


@router.get("/ops/traces")
def traces_page(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    status: Annotated[str, Query(max_length=12)] = "",
    surface: Annotated[str, Query(max_length=16)] = "",
    conversation: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    result = list_traces(
        session,
        status=status or None,
        surface=surface or None,
        conversation_id=conversation or None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    return render(
        request,
        "assistant_traces.html",
        user=user,
        traces=result.items,
        total=result.total,
        page=page,
        pages=max(1, -(-result.total // PAGE)),
        status=status,
        surface=surface,
        conversation=conversation,
        statuses=[TraceStatus.ok, TraceStatus.error, TraceStatus.limit, TraceStatus.timeout],
    )


@router.get("/ops/traces/{trace_id}")
def trace_page(trace_id: str, request: Request, session: SessionDep, user: AdminUser) -> Response:
    found = get_trace(session, trace_id)
    if found is None:
        raise HTTPException(404, "No trace with this id.")
    trace, nodes = found
    total_ms = max((n.offset_ms + n.span.latency_ms for n in nodes), default=0.0) or 1.0
    return render(
        request,
        "assistant_trace.html",
        user=user,
        trace=trace,
        nodes=nodes,
        total_ms=total_ms,
        instructions_hash=INSTRUCTIONS_HASH,
    )


@router.get("/ops/assistant/tools")
def tools_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: AdminUser
) -> Response:
    return render(
        request,
        "assistant_tools.html",
        user=user,
        states=rollout.tool_states(session),
        spec=provider_spec(settings),
        error=None,
    )


@router.post("/ops/assistant/tools/{tool}", dependencies=[CSRFChecked])
def tools_update(
    tool: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    enabled: Annotated[str | None, Form()] = None,
    share_percent: Annotated[float, Form(ge=0, le=100)] = 100,
) -> Response:
    try:
        rollout.set_tool(
            session,
            tool,
            enabled=enabled is not None,
            traffic_share=share_percent / 100,
            by=user.email,
        )
    except rollout.UnknownTool as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse("/ops/assistant/tools", status_code=303)


@router.get("/ops/assistant/evals")
def evals_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    runs = list(
        session.exec(select(AgentEvalRun).order_by(col(AgentEvalRun.created_at).desc()).limit(50))
    )
    return render(request, "assistant_evals.html", user=user, runs=runs)
