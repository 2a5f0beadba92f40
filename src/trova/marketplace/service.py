"""Marketplace logic: listings, browsing, messages. Services know nothing of HTTP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_
from sqlmodel import Session, col, select

from trova.accounts.models import User
from trova.ai.models import AICall
from trova.db._time import utcnow
from trova.marketplace.forms import ListingInput
from trova.marketplace.models import Listing, ListingStatus, Message, Photo


class NotFound(LookupError):
    """The thing does not exist, or the viewer may not see it."""


class Forbidden(PermissionError):
    """The viewer may see it but not change it."""


class Invalid(ValueError):
    """A request that breaks a marketplace rule; the message is for the user."""


class Sort(StrEnum):
    relevance = "relevance"  # best match for q (hybrid search); newest first without q
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"


@dataclass
class Page:
    items: list[Listing]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


# ---------------------------------------------------------------- reading


def browse(
    session: Session,
    *,
    q: str | None = None,
    category: str | None = None,
    sort: Sort = Sort.relevance,
    page: int = 1,
    page_size: int = 24,
    seller_id: int | None = None,
) -> Page:
    """Published listings, filtered and sorted; q goes to hybrid search (SQL text fallback)."""
    if q and q.strip():
        from trova.search.browse import search_listings

        found = search_listings(
            session,
            q,
            category=category,
            sort=sort.value,
            page=page,
            page_size=page_size,
            seller_id=seller_id,
        )
        if found is not None:
            return Page(found[0], found[1], max(1, page), page_size)
    where: list[ColumnElement[bool]] = [col(Listing.status) == ListingStatus.published]
    if seller_id is not None:
        where.append(col(Listing.seller_id) == seller_id)
    if category:
        where.append(
            # A range, not LIKE 'x/%': it can use the (status, category) index.
            or_(
                col(Listing.category) == category,
                and_(
                    col(Listing.category) >= category + "/", col(Listing.category) < category + "0"
                ),
            )
        )
    for word in (q or "").split()[:8]:
        pattern = f"%{word}%"
        where.append(
            or_(
                col(Listing.title).ilike(pattern),
                col(Listing.description).ilike(pattern),
                col(Listing.brand).ilike(pattern),
            )
        )
    total = session.exec(select(func.count()).select_from(Listing).where(*where)).one()
    order: tuple[Any, ...] = {
        Sort.relevance: (col(Listing.published_at).desc(), col(Listing.id).desc()),
        Sort.newest: (col(Listing.published_at).desc(), col(Listing.id).desc()),
        Sort.price_asc: (col(Listing.price_cents).asc(), col(Listing.id).desc()),
        Sort.price_desc: (col(Listing.price_cents).desc(), col(Listing.id).desc()),
    }[sort]
    page = max(1, page)
    stmt = (
        select(Listing)
        .where(*where)
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return Page(list(session.exec(stmt)), int(total), page, page_size)


def get_visible(session: Session, listing_id: int, viewer: User | None) -> Listing:
    """A listing the viewer may see: published or sold for all, drafts for their owner."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("This listing does not exist or was removed.")
    if listing.status == ListingStatus.draft and (viewer is None or viewer.id != listing.seller_id):
        raise NotFound("This listing does not exist or was removed.")
    return listing


def get_own(session: Session, listing_id: int, seller: User) -> Listing:
    """A listing the seller owns; Forbidden for someone else's."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("This listing does not exist or was removed.")
    if listing.seller_id != seller.id:
        raise Forbidden("You can only change your own listings.")
    return listing


def photos_of(session: Session, listing_ids: Sequence[int]) -> dict[int, list[Photo]]:
    """Photos per listing, cover first, in one query."""
    result: dict[int, list[Photo]] = {i: [] for i in listing_ids}
    if not listing_ids:
        return result
    stmt = (
        select(Photo)
        .where(col(Photo.listing_id).in_(list(listing_ids)))
        .order_by(col(Photo.listing_id), col(Photo.position))
    )
    for photo in session.exec(stmt):
        assert photo.listing_id is not None
        result[photo.listing_id].append(photo)
    return result


def sellers_of(session: Session, listings: Sequence[Listing]) -> dict[int, User]:
    ids = {listing.seller_id for listing in listings}
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))) if u.id}


def my_listings(session: Session, seller: User) -> list[Listing]:
    stmt = (
        select(Listing)
        .where(Listing.seller_id == seller.id)
        .order_by(col(Listing.updated_at).desc(), col(Listing.id).desc())
    )
    return list(session.exec(stmt))


# ---------------------------------------------------------------- writing


def attach_photos(
    session: Session, listing: Listing, photo_ids: Sequence[str], owner: User
) -> None:
    """Attach uploaded photos (owned by `owner`, not yet on a listing) in the given order."""
    if not photo_ids:
        raise Invalid("Add at least one photo.")
    if len(set(photo_ids)) != len(photo_ids):
        raise Invalid("The same photo was given twice.")
    photos = {
        p.id: p for p in session.exec(select(Photo).where(col(Photo.id).in_(list(photo_ids))))
    }
    for position, photo_id in enumerate(photo_ids):
        photo = photos.get(photo_id)
        if photo is None or photo.owner_id != owner.id:
            raise Invalid("One of the photos was not found; upload it again.")
        if photo.listing_id not in (None, listing.id):
            raise Invalid("One of the photos already belongs to another listing.")
        photo.listing_id = listing.id
        photo.position = position
        session.add(photo)


def create_draft(
    session: Session, seller: User, photo_ids: Sequence[str], max_photos: int = 8
) -> Listing:
    """Step 1 of the create flow: a draft listing holding its photos."""
    if len(photo_ids) > max_photos:
        raise Invalid(f"A listing can have at most {max_photos} photos.")
    assert seller.id is not None
    listing = Listing(seller_id=seller.id)
    session.add(listing)
    session.flush()
    attach_photos(session, listing, photo_ids, seller)
    session.commit()
    session.refresh(listing)
    return listing


def apply_input(listing: Listing, data: ListingInput) -> None:
    listing.title = data.title
    listing.description = data.description
    listing.category = data.category
    listing.condition = data.condition
    listing.brand = data.brand
    listing.color = data.color
    listing.price_cents = data.price_cents
    listing.updated_at = utcnow()


def own_ai_call(session: Session, ai_call_id: str | None, seller: User) -> str | None:
    """The id if it names an AI call made for this seller, else None (never trust the form)."""
    if not ai_call_id:
        return None
    call = session.get(AICall, ai_call_id)
    return ai_call_id if call is not None and call.seller_id == seller.id else None


def save_details(
    session: Session, listing: Listing, data: ListingInput, ai_call_id: str | None = None
) -> Listing:
    """Step 2 (and edits): store the validated fields."""
    apply_input(listing, data)
    if ai_call_id and listing.ai_call_id is None:
        listing.ai_call_id = ai_call_id
    session.add(listing)
    session.commit()
    session.refresh(listing)
    return listing


def publish(session: Session, listing: Listing) -> Listing:
    """Step 3: make a complete draft visible to buyers."""
    if listing.status != ListingStatus.draft:
        return listing
    missing = [
        name
        for name, value in (
            ("title", listing.title),
            ("category", listing.category),
            ("condition", listing.condition),
            ("price", listing.price_cents),
        )
        if not value
    ]
    if missing:
        raise Invalid("Fill in " + ", ".join(missing) + " before publishing.")
    if not session.exec(select(Photo.id).where(Photo.listing_id == listing.id)).first():
        raise Invalid("Add at least one photo before publishing.")
    now = utcnow()
    listing.status = ListingStatus.published
    listing.published_at = now
    listing.updated_at = now
    session.add(listing)
    session.commit()
    session.refresh(listing)
    return listing


def create_published(
    session: Session,
    seller: User,
    data: ListingInput,
    photo_ids: Sequence[str],
    *,
    ai_call_id: str | None = None,
    max_photos: int = 8,
) -> Listing:
    """One-shot create for the API: fields + photos, published at once."""
    if not photo_ids:
        raise Invalid("Add at least one photo.")
    if len(photo_ids) > max_photos:
        raise Invalid(f"A listing can have at most {max_photos} photos.")
    assert seller.id is not None
    now = utcnow()
    listing = Listing(
        seller_id=seller.id,
        status=ListingStatus.published,
        published_at=now,
        ai_call_id=ai_call_id,
    )
    apply_input(listing, data)
    session.add(listing)
    try:
        session.flush()
        attach_photos(session, listing, photo_ids, seller)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(listing)
    return listing


def mark_sold(session: Session, listing: Listing) -> Listing:
    if listing.status != ListingStatus.published:
        raise Invalid("Only a published listing can be marked as sold.")
    now = utcnow()
    listing.status = ListingStatus.sold
    listing.sold_at = now
    listing.updated_at = now
    session.add(listing)
    session.commit()
    session.refresh(listing)
    return listing


def delete_listing(session: Session, listing: Listing) -> list[str]:
    """Delete the listing and its messages; returns photo ids whose files the caller removes."""
    photo_ids = list(session.exec(select(Photo.id).where(Photo.listing_id == listing.id)))
    session.exec(delete(Message).where(col(Message.listing_id) == listing.id))
    session.exec(delete(Photo).where(col(Photo.listing_id) == listing.id))
    session.exec(delete(Listing).where(col(Listing.id) == listing.id))
    session.commit()
    return photo_ids


# ---------------------------------------------------------------- messages


def send_message(session: Session, listing: Listing, sender: User, body: str) -> Message:
    """Deliver a buyer's message to the seller's inbox."""
    body = body.strip()
    if not body:
        raise Invalid("Write a message to the seller.")
    if len(body) > 2000:
        raise Invalid("Keep your message to 2,000 characters or fewer.")
    if listing.status != ListingStatus.published:
        raise Invalid("This listing is no longer available.")
    if listing.seller_id == sender.id:
        raise Invalid("This is your own listing.")
    assert listing.id is not None and sender.id is not None
    message = Message(listing_id=listing.id, sender_id=sender.id, body=body)
    session.add(message)
    session.commit()
    session.refresh(message)
    return message


@dataclass
class InboxEntry:
    message: Message
    listing: Listing
    sender: User


def inbox(session: Session, seller: User) -> list[InboxEntry]:
    """Messages about the seller's listings, newest first."""
    stmt = (
        select(Message, Listing, User)
        .join(Listing, col(Message.listing_id) == col(Listing.id))
        .join(User, col(Message.sender_id) == col(User.id))
        .where(Listing.seller_id == seller.id)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(500)
    )
    return [InboxEntry(m, lst, u) for m, lst, u in session.exec(stmt)]


def mark_read(session: Session, entries: Sequence[InboxEntry]) -> None:
    now = utcnow()
    for entry in entries:
        if entry.message.read_at is None:
            entry.message.read_at = now
            session.add(entry.message)
    session.commit()


def unread_count(session: Session, seller: User) -> int:
    stmt = (
        select(func.count())
        .select_from(Message)
        .join(Listing, col(Message.listing_id) == col(Listing.id))
        .where(Listing.seller_id == seller.id, col(Message.read_at).is_(None))
    )
    return int(session.exec(stmt).one())
