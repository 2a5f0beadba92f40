"""POST /api/prefill: a photo in, a listing draft out (and the ai_call_id to keep)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel

from trova.accounts.models import User
from trova.ai.prefill import prefill
from trova.ai.registry import PromptNotFound
from trova.deps import CurrentUser, SessionDep, SettingsDep, StorageDep, verify_same_origin
from trova.marketplace import photos as photo_service
from trova.marketplace.api import read_upload, rejection
from trova.marketplace.models import Photo
from trova.media.intake import ImageRejected
from trova.media.storage import image_key

router = APIRouter(prefix="/api", tags=["ai"], dependencies=[Depends(verify_same_origin)])


class PrefillOut(BaseModel):
    ai_call_id: str | None
    status: str
    provider: str
    draft: dict[str, Any]
    warning: str | None
    price_hint: str | None
    flags: list[str]


def check_prefill_rate(request: Request, user: User) -> None:
    """Cost safety: at most `prefill_rate_limit` prefills per seller per hour."""
    limiter = request.app.state.prefill_limiter
    key = f"seller:{user.id}"
    wait = limiter.blocked_for(key)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "You've used AI suggestions a lot in the last hour. "
            f"Try again in {int(wait // 60) + 1} minutes, or fill in the form yourself.",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    limiter.hit(key)


@router.post("/prefill", response_model=PrefillOut)
async def prefill_endpoint(
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    user: CurrentUser,
    image: Annotated[UploadFile | None, File(description="A photo (JPEG, PNG, WebP)")] = None,
    image_id: Annotated[
        str | None, Form(max_length=64, description="Or an id from POST /api/images")
    ] = None,
    provider: Annotated[
        str | None, Form(max_length=300, description="Override the provider chain")
    ] = None,
    prompt: Annotated[str | None, Form(max_length=120, description="NAME@version|label")] = None,
) -> PrefillOut:
    """Suggest listing fields for a photo.

    A provider failure is not an HTTP error: the reply is 200 with an empty `draft`, a `status`
    of error/timeout/invalid and a `warning` sentence to show — the listing flow never breaks.
    Bad images get 4xx as everywhere else; too many calls get 429.
    """
    if (image is None) == (not image_id):
        raise HTTPException(
            422, "Send either an `image` file or an `image_id`, not both or neither."
        )
    if image is not None:
        raw = await read_upload(image, settings.max_upload_bytes)
        try:
            photo = photo_service.save_upload(session, storage, settings, user, raw)
        except ImageRejected as exc:
            raise rejection(exc) from None
    else:
        found = session.get(Photo, image_id)
        if found is None or found.owner_id != user.id:
            raise HTTPException(
                404, "No uploaded image with this id; upload it with POST /api/images."
            )
        photo = found
    check_prefill_rate(request, user)
    chain = None
    if provider:
        from trova.ai.providers import parse_chain

        chain = parse_chain(provider)
        if not chain:
            raise HTTPException(422, "provider: give a spec like local or openai:gpt-4o-mini.")
    try:
        result = await prefill(
            request.app.state.engine,
            settings,
            storage.get(image_key(photo.id, "full")),
            photo_id=photo.id,
            image_sha256=photo.sha256,
            seller_id=user.id,
            visitor_id=request.cookies.get("trova_vid"),
            providers=chain,
            prompt=prompt,
        )
    except PromptNotFound as exc:
        raise HTTPException(422, str(exc)) from None
    return PrefillOut(**result.api_dict())
