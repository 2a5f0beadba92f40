"""The create flow's hooks into rollout: who is asking, which flow, which variant, and events.

The marketplace pages call these one-liners; they read the request (cookies, session, the
simulator's headers) and call the services. A hook never breaks selling: on any error it logs,
rolls back its own work and lets the page go on (with the default prefill).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trova.accounts.models import User
from trova.ai.models import CallStatus
from trova.ai.prefill import PrefillResult
from trova.db._time import utcnow
from trova.marketplace.models import Listing
from trova.rollout import events, experiments, feedback, guardrails
from trova.rollout.assignment import Assignment, assign_prefill
from trova.rollout.models import EventType

log = logging.getLogger(__name__)

VISITOR_COOKIE = "trova_vid"
SIM_HEADER = "x-trova-simulation"  # `trova simulate` tags its requests with a run id
SIM_CLOCK_HEADER = "x-trova-sim-clock"  # and a virtual clock (epoch seconds) for its events
FLOW_KEY = "rollout_flow"
_VISITOR_MAX_AGE = 400 * 24 * 3600


@dataclass(frozen=True)
class Who:
    unit_id: str
    seller_id: int | None
    visitor_id: str | None
    simulated: bool
    at: datetime  # event time: now, or the simulator's virtual clock


def who(request: Request, user: User | None) -> Who:
    settings = request.app.state.settings
    simulated = bool(settings.rollout_accept_simulation and request.headers.get(SIM_HEADER))
    at = utcnow()
    clock = request.headers.get(SIM_CLOCK_HEADER) if simulated else None
    if clock:
        with suppress(ValueError, OverflowError, OSError):
            at = datetime.fromtimestamp(float(clock), UTC)
    visitor = request.cookies.get(VISITOR_COOKIE)
    seller_id = user.id if user is not None else None
    unit = f"seller:{seller_id}" if seller_id is not None else f"visitor:{visitor or 'unknown'}"
    return Who(unit, seller_id, visitor, simulated, at)


@contextmanager
def _guard(what: str, session: Session) -> Iterator[None]:
    """Log and swallow the errors of a tracking hook: analytics never break selling."""
    try:
        yield
    except Exception:
        log.exception("rollout: %s failed; the page goes on without it", what)
        session.rollback()


def _log(session: Session, w: Who, type_: EventType, flow_id: str | None, **fields: Any) -> None:
    events.log(
        session,
        type_,
        at=w.at,
        flow_id=flow_id,
        unit_id=w.unit_id,
        seller_id=w.seller_id,
        visitor_id=w.visitor_id,
        simulated=w.simulated,
        **fields,
    )


def flow_started(request: Request, session: Session, user: User | None) -> None:
    """GET /sell: a new flow starts (its id rides in the session until the photo upload)."""
    with _guard("create_started", session):
        w = who(request, user)
        flow_id = events.new_flow_id()
        request.session[FLOW_KEY] = flow_id
        _log(session, w, EventType.create_started, flow_id)


def photo_uploaded(request: Request, session: Session, user: User, listing: Listing) -> None:
    """POST /sell made a draft: bind the flow to the listing."""
    with _guard("photo_uploaded", session):
        w = who(request, user)
        flow_id = request.session.pop(FLOW_KEY, None)
        if not isinstance(flow_id, str):
            flow_id = events.new_flow_id()  # no GET /sell first (a script): start it here
            _log(session, w, EventType.create_started, flow_id, props={"implicit": True})
        _log(session, w, EventType.photo_uploaded, flow_id, listing_id=listing.id)


def _flow(session: Session, w: Who, listing: Listing) -> str:
    assert listing.id is not None
    flow = events.flow_of_listing(session, listing.id)
    if flow is not None:
        return flow.flow_id
    flow_id = events.new_flow_id()  # a draft from before rollout tracking: adopt it
    _log(session, w, EventType.create_started, flow_id, props={"implicit": True})
    _log(session, w, EventType.photo_uploaded, flow_id, listing_id=listing.id)
    return flow_id


def prefill_assignment(
    request: Request, session: Session, user: User, listing: Listing
) -> Assignment | None:
    """The prefill variant for this seller (None: no experiment, use the default chain).

    The first call for a flow logs its exposure; later calls (the htmx prefill, a reload)
    return the same sticky answer without logging again.
    """
    with _guard("assignment", session):
        w = who(request, user)
        assignment = assign_prefill(
            session,
            w.unit_id,
            seller_id=w.seller_id,
            visitor_id=w.visitor_id,
            simulated=w.simulated,
        )
        if assignment is not None:
            flow_id = _flow(session, w, listing)
            if events.exposure_of(session, flow_id) is None:
                _log(
                    session,
                    w,
                    EventType.exposure,
                    flow_id,
                    listing_id=listing.id,
                    experiment_id=assignment.experiment_id,
                    variant=assignment.variant,
                    props={
                        "rerouted": assignment.rerouted,
                        "provider": assignment.provider,
                        "prompt": assignment.prompt,
                    },
                )
        return assignment
    return None


def prefill_is_off(request: Request, session: Session, user: User, listing: Listing) -> bool:
    """True when this seller's variant is `off`: show the empty form, make no AI call."""
    assignment = prefill_assignment(request, session, user, listing)
    return assignment is not None and assignment.off


def prefill_args(assignment: Assignment | None) -> dict[str, Any]:
    """The keyword arguments of `prefill()` for a variant ({} outside experiments)."""
    if assignment is None or assignment.off:
        return {}
    return {
        "providers": assignment.providers,
        "prompt": assignment.prompt,
        "experiment": assignment.experiment,
        "variant": assignment.variant,
    }


_last_check: dict[tuple[int, str], float] = {}


def _due(request: Request, assignment: Assignment, failed: bool) -> bool:
    """Judge a variant after every failed call, and after an ok one at most every N seconds.

    A failing provider is caught at once; a healthy one doesn't pay a window query per call.
    The background worker checks every running experiment as well.
    """
    interval = request.app.state.settings.rollout_guardrail_interval_s
    key = (assignment.experiment_id, assignment.variant)
    now = time.monotonic()
    if not failed and now - _last_check.get(key, -1e9) < interval:
        return False
    _last_check[key] = now
    return True


def prefill_shown(
    request: Request,
    session: Session,
    user: User,
    listing: Listing,
    result: PrefillResult,
    assignment: Assignment | None,
) -> None:
    """The form was rendered from an AI call; then the variant's guardrails are checked."""
    with _guard("prefill_shown", session):
        w = who(request, user)
        _log(
            session,
            w,
            EventType.prefill_shown,
            _flow(session, w, listing),
            listing_id=listing.id,
            ai_call_id=result.ai_call_id,
            experiment_id=assignment.experiment_id if assignment else None,
            variant=assignment.variant if assignment else None,
        )
        if assignment is None or assignment.off or assignment.rerouted:
            return
        if not _due(request, assignment, failed=result.status != CallStatus.ok):
            return
        view = experiments.running(session)
        if view is not None and view.experiment.id == assignment.experiment_id:
            for breach in guardrails.check(session, view, only=assignment.variant):
                log.warning("rollout guardrail paused %s/%s: %s", *vars(breach).values())


def published(request: Request, session: Session, user: User, listing: Listing) -> None:
    """POST publish: the published event and the implicit field-level feedback."""
    with _guard("published", session):
        w = who(request, user)
        flow_id = _flow(session, w, listing)
        exposure = events.exposure_of(session, flow_id)
        _log(
            session,
            w,
            EventType.published,
            flow_id,
            listing_id=listing.id,
            ai_call_id=listing.ai_call_id,
            experiment_id=exposure.experiment_id if exposure else None,
            variant=exposure.variant if exposure else None,
        )
        feedback.record_publish_diff(session, listing, simulated=w.simulated)


def field_edited(
    request: Request, session: Session, user: User, listing: Listing, field: str
) -> bool:
    """A client-side field change on a draft's form; logged once per flow and field."""
    w = who(request, user)
    flow_id = _flow(session, w, listing)
    if events.field_edited_before(session, flow_id, field):
        return False
    exposure = events.exposure_of(session, flow_id)
    _log(
        session,
        w,
        EventType.field_edited,
        flow_id,
        listing_id=listing.id,
        field=field,
        experiment_id=exposure.experiment_id if exposure else None,
        variant=exposure.variant if exposure else None,
    )
    return True


class VisitorIdMiddleware:
    """Give every browser an anonymous visitor id cookie (`trova_vid`) on its first request.

    The id is also added to that first request's cookies, so it is known at once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path.startswith(("/static/", "/media/", "/healthz")):
            await self.app(scope, receive, send)
            return
        raw = [v for k, v in scope.get("headers", []) if k == b"cookie"]
        cookie = b"; ".join(raw).decode("latin-1")
        if f"{VISITOR_COOKIE}=" in cookie:
            await self.app(scope, receive, send)
            return
        vid = uuid.uuid4().hex
        joined = f"{cookie}; {VISITOR_COOKIE}={vid}" if cookie else f"{VISITOR_COOKIE}={vid}"
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
        scope = {**scope, "headers": [*headers, (b"cookie", joined.encode("latin-1"))]}
        app = scope.get("app")
        settings = getattr(getattr(app, "state", None), "settings", None)
        secure = "; Secure" if getattr(settings, "secure_cookies", False) else ""

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(
                    "set-cookie",
                    f"{VISITOR_COOKIE}={vid}; Max-Age={_VISITOR_MAX_AGE}; Path=/; "
                    f"SameSite=Lax; HttpOnly{secure}",
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)
