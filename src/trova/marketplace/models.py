"""Listings, their photos, and messages between buyers and sellers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow

CURRENCY = "EUR"
MAX_PRICE_CENTS = 10_000_000 * 100


class ListingStatus(StrEnum):
    draft = "draft"
    published = "published"
    sold = "sold"


class Listing(SQLModel, table=True):
    # The browse grid filters on status and sorts by date or price: indexes that match.
    __table_args__ = (
        Index("ix_listing_status_published", "status", "published_at", "id"),
        Index("ix_listing_status_price", "status", "price_cents", "id"),
        Index("ix_listing_status_category", "status", "category"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seller_id: int = Field(foreign_key="user.id", index=True)
    title: str = Field(default="", max_length=80)
    description: str = Field(default="", max_length=4000)
    category: str | None = Field(default=None, max_length=80, index=True)
    condition: str | None = Field(default=None, max_length=20)
    brand: str | None = Field(default=None, max_length=60)
    color: str | None = Field(default=None, max_length=20)
    price_cents: int | None = Field(default=None)
    currency: str = Field(default=CURRENCY, max_length=3)
    status: ListingStatus = Field(default=ListingStatus.draft, max_length=12, index=True)
    # Filled by the AI prefill (issue B): the call whose suggestion this listing started from.
    ai_call_id: str | None = Field(
        default=None, foreign_key="ai_calls.id", max_length=36, index=True
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = Field(default=None, index=True)
    sold_at: datetime | None = None


class Photo(SQLModel, table=True):
    """A stored, normalized image. Uploaded first, attached to a listing afterwards."""

    id: str = Field(primary_key=True, max_length=32)  # random hex: unguessable URLs
    owner_id: int = Field(foreign_key="user.id", index=True)
    listing_id: int | None = Field(default=None, foreign_key="listing.id", index=True)
    position: int = 0  # 0 is the cover
    width: int
    height: int
    sha256: str = Field(max_length=64)
    source_format: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listing.id", index=True)
    sender_id: int = Field(foreign_key="user.id", index=True)
    body: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
