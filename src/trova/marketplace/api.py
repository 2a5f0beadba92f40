"""JSON API for listings, photos and messages (thin: the logic lives in service.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile, status
from sqlmodel import Session

from trova.accounts.models import User
from trova.deps import (
    CurrentUser,
    ListingId,
    OptionalUser,
    SessionDep,
    SettingsDep,
    StorageDep,
    verify_same_origin,
)
from trova.marketplace import photos as photo_service
from trova.marketplace import service
from trova.marketplace.forms import ListingForm, ListingInput
from trova.marketplace.models import Listing, ListingStatus
from trova.marketplace.schemas import (
    ListingPage,
    ListingPatch,
    ListingPublic,
    MessageIn,
    MessagePublic,
    PhotoPublic,
)
from trova.media.intake import ImageRejected

router = APIRouter(prefix="/api", tags=["marketplace"], dependencies=[Depends(verify_same_origin)])

REJECTION_STATUS = {
    "too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "too_many_pixels": status.HTTP_413_CONTENT_TOO_LARGE,
    "unsupported_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


def rejection(exc: ImageRejected, filename: str | None = None) -> HTTPException:
    prefix = f"{filename}: " if filename else ""
    return HTTPException(
        REJECTION_STATUS.get(exc.code, status.HTTP_422_UNPROCESSABLE_CONTENT),
        prefix + exc.message,
    )


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read at most max_bytes + 1 so an oversized upload is refused without holding it all."""
    return await upload.read(max_bytes + 1)


def public(session: Session, listing: Listing) -> ListingPublic:
    assert listing.id is not None
    photos = service.photos_of(session, [listing.id])[listing.id]
    return ListingPublic.of(
        listing, photos, service.sellers_of(session, [listing]).get(listing.seller_id)
    )


def to_http(exc: Exception) -> HTTPException:
    if isinstance(exc, service.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, service.Forbidden):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/listings", response_model=ListingPage)
def list_listings(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=80)] = None,
    sort: service.Sort = service.Sort.relevance,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> ListingPage:
    """Published listings: text search, category filter (top level or sub), sorting, pages."""
    result = service.browse(
        session,
        q=q,
        category=category,
        sort=sort,
        page=page,
        page_size=page_size or settings.page_size,
    )
    ids = [listing.id for listing in result.items if listing.id is not None]
    photos = service.photos_of(session, ids)
    sellers = service.sellers_of(session, result.items)
    return ListingPage(
        items=[
            ListingPublic.of(listing, photos[listing.id or 0], sellers.get(listing.seller_id))
            for listing in result.items
        ],
        total=result.total,
        page=result.page,
        pages=result.pages,
        page_size=result.page_size,
    )


@router.get("/listings/{listing_id}", response_model=ListingPublic)
def get_listing(listing_id: ListingId, session: SessionDep, user: OptionalUser) -> ListingPublic:
    try:
        return public(session, service.get_visible(session, listing_id, user))
    except service.NotFound as exc:
        raise to_http(exc) from None


@router.post("/images", response_model=PhotoPublic, status_code=status.HTTP_201_CREATED)
async def upload_image(
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    user: CurrentUser,
    image: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo")],
) -> PhotoPublic:
    """Upload one photo; returns its id to use in POST /api/listings (`photo_ids`)."""
    raw = await read_upload(image, settings.max_upload_bytes)
    try:
        photo = photo_service.save_upload(session, storage, settings, user, raw)
    except ImageRejected as exc:
        raise rejection(exc) from None
    return PhotoPublic.of(photo)


@router.post("/listings", response_model=ListingPublic, status_code=status.HTTP_201_CREATED)
async def create_listing(
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    user: CurrentUser,
    title: Annotated[str, Form(max_length=200)],
    category: Annotated[str, Form(max_length=80)],
    condition: Annotated[str, Form(max_length=20)],
    price: Annotated[str, Form(max_length=40, description="EUR, e.g. 45 or 1,250.00")],
    description: Annotated[str, Form(max_length=4000)] = "",
    brand: Annotated[str, Form(max_length=100)] = "",
    color: Annotated[str, Form(max_length=20)] = "",
    ai_call_id: Annotated[str, Form(max_length=36)] = "",
    images: Annotated[list[UploadFile] | None, File(description="1–8 photos, cover first")] = None,
    photo_ids: Annotated[list[str] | None, Form(description="ids from POST /api/images")] = None,
) -> ListingPublic:
    """Create and publish a listing from fields plus photos (uploaded here or before)."""
    form = ListingForm.from_submission(
        {
            "title": title,
            "description": description,
            "category": category,
            "condition": condition,
            "brand": brand,
            "color": color,
            "price": price,
        }
    )
    data = form.validate()
    if data is None:
        detail = "; ".join(f"{name}: {msg}" for name, msg in form.errors.items())
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    uploads = [u for u in images or [] if u.filename or u.size]
    existing = [p for p in (photo_ids or []) if p]
    if not uploads and not existing:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Add at least one photo.")
    if len(uploads) + len(existing) > settings.max_photos:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"A listing can have at most {settings.max_photos} photos.",
        )
    new_ids: list[str] = []
    try:
        for upload in uploads:
            raw = await read_upload(upload, settings.max_upload_bytes)
            try:
                photo = photo_service.save_upload(session, storage, settings, user, raw)
            except ImageRejected as exc:
                raise rejection(exc, upload.filename) from None
            new_ids.append(photo.id)
        listing = _create(session, user, data, existing + new_ids, ai_call_id, settings.max_photos)
    except BaseException:
        photo_service.discard_unattached(session, storage, new_ids)
        raise
    return public(session, listing)


def _create(
    session: Session,
    user: User,
    data: ListingInput,
    photo_ids: list[str],
    ai_call_id: str,
    max_photos: int,
) -> Listing:
    try:
        return service.create_published(
            session,
            user,
            data,
            photo_ids,
            ai_call_id=service.own_ai_call(session, ai_call_id, user),
            max_photos=max_photos,
        )
    except service.Invalid as exc:
        raise to_http(exc) from None


@router.patch("/listings/{listing_id}", response_model=ListingPublic)
def patch_listing(
    listing_id: ListingId, patch: ListingPatch, session: SessionDep, user: CurrentUser
) -> ListingPublic:
    """Change fields of your own listing; `{"status": "sold"}` marks it sold."""
    try:
        listing = service.get_own(session, listing_id, user)
        changes: dict[str, Any] = patch.model_dump(exclude_unset=True, exclude={"status"})
        if changes:
            form = ListingForm.from_listing(listing)
            for name, value in changes.items():
                form.values[name] = "" if value is None else str(value)
            data = form.validate()
            if data is None:
                detail = "; ".join(f"{name}: {msg}" for name, msg in form.errors.items())
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
            service.save_details(session, listing, data)
        if patch.status is not None:
            if patch.status == ListingStatus.sold:
                service.mark_sold(session, listing)
            elif patch.status == ListingStatus.published and listing.status == ListingStatus.draft:
                service.publish(session, listing)
            elif patch.status != listing.status:
                raise service.Invalid("status can be set to 'sold' (or 'published' for a draft).")
    except (service.NotFound, service.Forbidden, service.Invalid) as exc:
        raise to_http(exc) from None
    return public(session, listing)


@router.delete("/listings/{listing_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_listing(
    listing_id: ListingId, session: SessionDep, storage: StorageDep, user: CurrentUser
) -> None:
    try:
        listing = service.get_own(session, listing_id, user)
    except (service.NotFound, service.Forbidden) as exc:
        raise to_http(exc) from None
    photo_service.delete_files(storage, service.delete_listing(session, listing))


@router.post(
    "/listings/{listing_id}/messages",
    response_model=MessagePublic,
    status_code=status.HTTP_201_CREATED,
)
def contact_seller(
    listing_id: ListingId, body: MessageIn, session: SessionDep, user: CurrentUser
) -> MessagePublic:
    """Send the seller a message; it lands in their inbox."""
    try:
        listing = service.get_visible(session, listing_id, user)
        return MessagePublic.of(service.send_message(session, listing, user, body.body))
    except (service.NotFound, service.Invalid) as exc:
        raise to_http(exc) from None
