"""JSON shapes of the marketplace API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trova.accounts.models import User
from trova.ai.taxonomy import taxonomy
from trova.marketplace.forms import format_price
from trova.marketplace.models import Listing, Message, Photo
from trova.marketplace.photos import photo_url


class PhotoPublic(BaseModel):
    id: str
    url: str = Field(description="The stored normalized image (JPEG, long side ≤ 2048).")
    card_url: str
    thumb_url: str
    width: int
    height: int
    content_type: str = "image/jpeg"

    @classmethod
    def of(cls, photo: Photo) -> PhotoPublic:
        return cls(
            id=photo.id,
            url=photo_url(photo.id, "full"),
            card_url=photo_url(photo.id, "card"),
            thumb_url=photo_url(photo.id, "thumb"),
            width=photo.width,
            height=photo.height,
        )


class SellerPublic(BaseModel):
    id: int
    name: str


class ListingPublic(BaseModel):
    id: int
    title: str
    description: str
    category: str | None
    category_label: str | None
    condition: str | None
    brand: str | None
    color: str | None
    price_cents: int | None
    price: str = Field(description="Formatted, e.g. €1,234.50")
    currency: str
    status: str
    seller: SellerPublic | None
    photos: list[PhotoPublic]
    ai_call_id: str | None
    created_at: datetime
    published_at: datetime | None
    url: str

    @classmethod
    def of(cls, listing: Listing, photos: list[Photo], seller: User | None) -> ListingPublic:
        assert listing.id is not None
        cat = taxonomy().categories.get(listing.category or "")
        return cls(
            id=listing.id,
            title=listing.title,
            description=listing.description,
            category=listing.category,
            category_label=cat.label if cat else None,
            condition=listing.condition,
            brand=listing.brand,
            color=listing.color,
            price_cents=listing.price_cents,
            price=format_price(listing.price_cents),
            currency=listing.currency,
            status=listing.status,
            seller=SellerPublic(id=seller.id, name=seller.name) if seller and seller.id else None,
            photos=[PhotoPublic.of(p) for p in photos],
            ai_call_id=listing.ai_call_id,
            created_at=listing.created_at,
            published_at=listing.published_at,
            url=f"/listings/{listing.id}",
        )


class ListingPage(BaseModel):
    items: list[ListingPublic]
    total: int
    page: int
    pages: int
    page_size: int


class ListingPatch(BaseModel):
    """Fields to change; omitted fields keep their value."""

    title: str | None = None
    description: str | None = None
    category: str | None = None
    condition: str | None = None
    brand: str | None = None
    color: str | None = None
    price: str | float | None = Field(None, description="EUR, e.g. 45 or '1,250.00'")
    status: str | None = Field(None, description="'sold' marks the listing as sold")


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=2000)


class MessagePublic(BaseModel):
    id: int
    listing_id: int
    body: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        assert message.id is not None
        return cls(
            id=message.id,
            listing_id=message.listing_id,
            body=message.body,
            created_at=message.created_at,
        )
