"""Messages the agent drafted: the buyer confirms (delivered via the marketplace) or cancels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from trova.accounts.models import User
from trova.assistant.models import PendingMessage, PendingStatus
from trova.db._time import utcnow
from trova.marketplace import service
from trova.marketplace.models import Listing, Message


class PendingError(ValueError):
    """The draft cannot be confirmed or cancelled; the message is for the buyer."""


@dataclass
class PendingView:
    pending: PendingMessage
    listing: Listing | None


def get_own(session: Session, pending_id: int, user: User) -> PendingMessage:
    pending = session.get(PendingMessage, pending_id)
    if pending is None or pending.user_id != user.id:
        raise LookupError("This draft does not exist.")
    return pending


def views(session: Session, ids: Sequence[int], user_id: int | None) -> list[PendingView]:
    """The buyer's drafts with their listings, in the given order."""
    if not ids or user_id is None:
        return []
    rows = {
        p.id: p
        for p in session.exec(
            select(PendingMessage).where(
                col(PendingMessage.id).in_(list(ids)), PendingMessage.user_id == user_id
            )
        )
    }
    out = []
    for pid in ids:
        pending = rows.get(pid)
        if pending is not None:
            out.append(PendingView(pending, session.get(Listing, pending.listing_id)))
    return out


def _claim(session: Session, pending: PendingMessage, status: str) -> bool:
    """Move a pending draft to `status` exactly once (a double click cannot send twice)."""
    result = session.execute(
        update(PendingMessage)
        .where(
            col(PendingMessage.id) == pending.id,
            col(PendingMessage.status) == PendingStatus.pending,
        )
        .values(status=status, decided_at=utcnow())
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def confirm(session: Session, pending_id: int, user: User, body: str | None = None) -> Message:
    """Send the draft (optionally edited by the buyer) through the marketplace."""
    pending = get_own(session, pending_id, user)
    if pending.status != PendingStatus.pending:
        raise PendingError(f"This draft was already {pending.status}.")
    text = (body if body is not None and body.strip() else pending.body).strip()
    listing = session.get(Listing, pending.listing_id)
    if listing is None:
        raise PendingError("This listing was removed.")
    if not _claim(session, pending, PendingStatus.sent):
        raise PendingError("This draft was already handled.")
    try:
        message = service.send_message(session, listing, user, text)
    except service.Invalid as exc:
        session.execute(
            update(PendingMessage)
            .where(col(PendingMessage.id) == pending.id)
            .values(status=PendingStatus.pending, decided_at=None)
        )
        session.commit()
        raise PendingError(str(exc)) from None
    session.refresh(pending)
    pending.message_id = message.id
    pending.body = text
    session.add(pending)
    session.commit()
    return message


def cancel(session: Session, pending_id: int, user: User) -> PendingMessage:
    pending = get_own(session, pending_id, user)
    if pending.status != PendingStatus.pending:
        raise PendingError(f"This draft was already {pending.status}.")
    if not _claim(session, pending, PendingStatus.cancelled):
        raise PendingError("This draft was already handled.")
    session.refresh(pending)
    return pending
