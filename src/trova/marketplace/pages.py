"""HTML pages: browse, listing detail + contact, the photo-first create flow, seller tools."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from trova.accounts.models import User
from trova.ai.api import check_prefill_rate
from trova.ai.draft import ListingDraft
from trova.ai.models import AICall, CallStatus
from trova.ai.prefill import FRIENDLY_FAILURE, prefill
from trova.deps import (
    CSRFChecked,
    CurrentUser,
    ListingId,
    OptionalUser,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from trova.marketplace import photos as photo_service
from trova.marketplace import service
from trova.marketplace.forms import ListingForm
from trova.marketplace.models import Listing, ListingStatus, Photo
from trova.media.intake import ImageRejected
from trova.media.storage import image_key
from trova.rollout import web as rollout
from trova.search.browse import similar_block
from trova.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _http(exc: Exception) -> HTTPException:
    code = 404 if isinstance(exc, service.NotFound) else 403
    return HTTPException(code, str(exc))


def _own(session: Session, listing_id: ListingId, user: User) -> Listing:
    try:
        return service.get_own(session, listing_id, user)
    except (service.NotFound, service.Forbidden) as exc:
        raise _http(exc) from None


# ---------------------------------------------------------------- buyers


@router.get("/")
def browse(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=80)] = "",
    sort: service.Sort = service.Sort.relevance,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    result = service.browse(
        session,
        q=q,
        category=category or None,
        sort=sort,
        page=page,
        page_size=settings.page_size,
    )
    ids = [lst.id for lst in result.items if lst.id is not None]
    template = "_results.html" if request.headers.get("hx-request") else "browse.html"
    return render(
        request,
        template,
        user=user,
        result=result,
        photos=service.photos_of(session, ids),
        q=q,
        category=category,
        sort=sort.value,
    )


@router.get("/listings/{listing_id}")
def listing_detail(
    listing_id: ListingId, request: Request, session: SessionDep, user: OptionalUser
) -> Response:
    try:
        listing = service.get_visible(session, listing_id, user)
    except service.NotFound as exc:
        raise _http(exc) from None
    return _render_detail(request, session, listing, user)


def _render_detail(
    request: Request,
    session: Session,
    listing: Listing,
    user: User | None,
    *,
    status_code: int = 200,
    message_error: str | None = None,
    message_body: str = "",
    sent: bool = False,
) -> Response:
    assert listing.id is not None
    return render(
        request,
        "listing.html",
        status_code=status_code,
        user=user,
        listing=listing,
        photos=service.photos_of(session, [listing.id])[listing.id],
        seller=service.sellers_of(session, [listing]).get(listing.seller_id),
        similar=similar_block(session, listing),
        message_error=message_error,
        message_body=message_body,
        sent=sent or request.query_params.get("sent") == "1",
    )


@router.post("/listings/{listing_id}/contact", dependencies=[CSRFChecked])
def contact(
    listing_id: ListingId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    body: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        listing = service.get_visible(session, listing_id, user)
    except service.NotFound as exc:
        raise _http(exc) from None
    try:
        service.send_message(session, listing, user, body)
    except service.Invalid as exc:
        return _render_detail(
            request,
            session,
            listing,
            user,
            status_code=422,
            message_error=str(exc),
            message_body=body,
        )
    return _see_other(f"/listings/{listing_id}?sent=1#contact")


# ---------------------------------------------------------------- the create flow


@router.get("/sell")
def sell_start(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """Step 1: photos first."""
    rollout.flow_started(request, session, user)
    return render(request, "sell_photos.html", user=user, errors=[], max_photos=settings.max_photos)


@router.post("/sell", dependencies=[CSRFChecked])
async def sell_upload(
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    user: CurrentUser,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    uploads = [u for u in photos or [] if u.filename or u.size]
    errors: list[str] = []
    if not uploads:
        errors.append("Choose at least one photo of your item.")
    elif len(uploads) > settings.max_photos:
        errors.append(f"You can add up to {settings.max_photos} photos; you chose {len(uploads)}.")
    saved: list[Photo] = []
    if not errors:
        for upload in uploads:
            raw = await upload.read(settings.max_upload_bytes + 1)
            try:
                saved.append(photo_service.save_upload(session, storage, settings, user, raw))
            except ImageRejected as exc:
                errors.append(f"{upload.filename or 'A file'}: {exc.message}")
    if errors:
        # Nothing half-stored: drop the photos of this attempt that did pass.
        photo_service.discard_unattached(session, storage, [p.id for p in saved])
        return render(
            request,
            "sell_photos.html",
            status_code=422,
            user=user,
            errors=errors,
            max_photos=settings.max_photos,
        )
    listing = service.create_draft(session, user, [p.id for p in saved], settings.max_photos)
    rollout.photo_uploaded(request, session, user, listing)
    return _see_other(f"/sell/{listing.id}/details")


def _draft(session: Session, listing_id: ListingId, user: User) -> Listing:
    listing = _own(session, listing_id, user)
    if listing.status != ListingStatus.draft:
        raise HTTPException(409, "This listing is already published; edit it from My listings.")
    return listing


def _form_from_call(call: AICall) -> ListingForm:
    """The form from an earlier AI call on this draft (a reload must not pay twice)."""
    if call.status != CallStatus.ok:
        return ListingForm(ai_call_id=call.id, notice=FRIENDLY_FAILURE)
    draft = ListingDraft.model_validate(call.draft or {})
    return ListingForm.from_draft(draft, ai_call_id=call.id)


@router.get("/sell/{listing_id}/details")
def sell_details(
    listing_id: ListingId,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    manual: bool = False,
) -> Response:
    """Step 2: the listing form, rendered from a draft object (pre-filled by the AI)."""
    listing = _draft(session, listing_id, user)
    if listing.title or listing.category:
        form = ListingForm.from_listing(listing)
    elif listing.ai_call_id and (call := session.get(AICall, listing.ai_call_id)):
        form = _form_from_call(call)
    elif manual or rollout.prefill_is_off(request, session, user, listing):
        form = ListingForm.empty()
    else:
        return _render_form(request, session, listing, user, ListingForm(), prefill_pending=True)
    return _render_form(request, session, listing, user, form)


@router.get("/sell/{listing_id}/prefill")
async def sell_prefill(
    listing_id: ListingId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    user: CurrentUser,
) -> Response:
    """htmx fragment: the form pre-filled from the cover photo (one AI call per draft)."""
    listing = _draft(session, listing_id, user)
    assert listing.id is not None
    cover = service.photos_of(session, [listing.id])[listing.id][:1]
    if listing.ai_call_id and (call := session.get(AICall, listing.ai_call_id)):
        form = _form_from_call(call)
    elif not cover or (
        (assignment := rollout.prefill_assignment(request, session, user, listing)) is not None
        and assignment.off  # the seller's variant is "off": no AI, the empty form
    ):
        form = ListingForm.empty()
    else:
        try:
            check_prefill_rate(request, user)
        except HTTPException as exc:
            form = ListingForm(notice=str(exc.detail))
        else:
            result = await prefill(
                request.app.state.engine,
                settings,
                storage.get(image_key(cover[0].id, "full")),
                photo_id=cover[0].id,
                image_sha256=cover[0].sha256,
                seller_id=user.id,
                visitor_id=request.cookies.get("trova_vid"),
                **rollout.prefill_args(assignment),
            )
            listing.ai_call_id = result.ai_call_id
            session.add(listing)
            session.commit()
            rollout.prefill_shown(request, session, user, listing, result, assignment)
            form = ListingForm.from_draft(
                result.draft,
                ai_call_id=result.ai_call_id,
                notice=result.warning,
                price_hint=result.price_hint,
            )
    return render(
        request,
        "_listing_form.html",
        user=user,
        form=form,
        action=f"/sell/{listing_id}/details",
        submit_label="Continue to preview",
    )


def _render_form(
    request: Request,
    session: Session,
    listing: Listing,
    user: User,
    form: ListingForm,
    *,
    status_code: int = 200,
    mode: str = "create",
    prefill_pending: bool = False,
) -> Response:
    assert listing.id is not None
    return render(
        request,
        "sell_details.html",
        status_code=status_code,
        user=user,
        listing=listing,
        photos=service.photos_of(session, [listing.id])[listing.id],
        form=form,
        mode=mode,
        prefill_pending=prefill_pending,
    )


async def _submitted_form(request: Request) -> ListingForm:
    data = await request.form()
    return ListingForm.from_submission({k: v for k, v in data.items() if isinstance(v, str)})


@router.post("/sell/{listing_id}/details", dependencies=[CSRFChecked])
async def sell_details_submit(
    listing_id: ListingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    listing = _draft(session, listing_id, user)
    form = await _submitted_form(request)
    data = form.validate()
    if data is None:
        return _render_form(request, session, listing, user, form, status_code=422)
    service.save_details(
        session, listing, data, ai_call_id=service.own_ai_call(session, form.ai_call_id, user)
    )
    return _see_other(f"/sell/{listing_id}/review")


@router.get("/sell/{listing_id}/review")
def sell_review(
    listing_id: ListingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Step 3: preview, then publish."""
    listing = _draft(session, listing_id, user)
    if not listing.title:
        return _see_other(f"/sell/{listing_id}/details")
    assert listing.id is not None
    return render(
        request,
        "sell_review.html",
        user=user,
        listing=listing,
        photos=service.photos_of(session, [listing.id])[listing.id],
        seller=user,
        error=None,
    )


@router.post("/sell/{listing_id}/publish", dependencies=[CSRFChecked])
def sell_publish(
    listing_id: ListingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    listing = _draft(session, listing_id, user)
    try:
        service.publish(session, listing)
    except service.Invalid as exc:
        assert listing.id is not None
        return render(
            request,
            "sell_review.html",
            status_code=422,
            user=user,
            listing=listing,
            photos=service.photos_of(session, [listing.id])[listing.id],
            seller=user,
            error=str(exc),
        )
    rollout.published(request, session, user, listing)
    return _see_other(f"/listings/{listing_id}?published=1")


# ---------------------------------------------------------------- seller tools


@router.get("/my/listings")
def my_listings(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    listings = service.my_listings(session, user)
    photos = service.photos_of(session, [lst.id for lst in listings if lst.id is not None])
    return render(
        request,
        "my_listings.html",
        user=user,
        listings=listings,
        photos=photos,
        unread=service.unread_count(session, user),
    )


@router.get("/listings/{listing_id}/edit")
def edit_page(
    listing_id: ListingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    listing = _own(session, listing_id, user)
    return _render_form(
        request, session, listing, user, ListingForm.from_listing(listing), mode="edit"
    )


@router.post("/listings/{listing_id}/edit", dependencies=[CSRFChecked])
async def edit_submit(
    listing_id: ListingId, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    listing = _own(session, listing_id, user)
    form = await _submitted_form(request)
    data = form.validate()
    if data is None:
        return _render_form(request, session, listing, user, form, status_code=422, mode="edit")
    service.save_details(session, listing, data)
    if listing.status == ListingStatus.draft:
        return _see_other(f"/sell/{listing_id}/review")
    return _see_other(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/sold", dependencies=[CSRFChecked])
def mark_sold(listing_id: ListingId, session: SessionDep, user: CurrentUser) -> Response:
    listing = _own(session, listing_id, user)
    try:
        service.mark_sold(session, listing)
    except service.Invalid as exc:
        raise HTTPException(409, str(exc)) from None
    return _see_other("/my/listings")


@router.post("/listings/{listing_id}/delete", dependencies=[CSRFChecked])
def delete(
    listing_id: ListingId, session: SessionDep, storage: StorageDep, user: CurrentUser
) -> Response:
    listing = _own(session, listing_id, user)
    photo_service.delete_files(storage, service.delete_listing(session, listing))
    return _see_other("/my/listings?deleted=1")


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    entries = service.inbox(session, user)
    unread_ids = {e.message.id for e in entries if e.message.read_at is None}
    service.mark_read(session, entries)
    return render(request, "inbox.html", user=user, entries=entries, unread_ids=unread_ids)
