"""Seller photo uploads: intake → storage → Photo row, with no orphans either way."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from sqlmodel import Session

from trova.accounts.models import User
from trova.config import Settings
from trova.marketplace.models import Photo
from trova.media.intake import normalize
from trova.media.storage import Storage, image_key, new_image_id, stored_image

log = logging.getLogger(__name__)

VARIANTS = ("full", "card", "thumb")


def save_upload(
    session: Session, storage: Storage, settings: Settings, owner: User, raw: bytes
) -> Photo:
    """Normalize and store one photo; raises media.ImageRejected on bad input.

    Files are written first and removed again if the row cannot be committed, so a failure
    leaves neither an orphan file nor a row pointing at a missing file.
    """
    image = normalize(
        raw,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        min_side=settings.min_image_side,
    )
    assert owner.id is not None
    photo = Photo(
        id=new_image_id(),
        owner_id=owner.id,
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        source_format=image.source_format,
    )
    with stored_image(storage, photo.id, image):
        try:
            session.add(photo)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    session.refresh(photo)
    return photo


def discard_unattached(session: Session, storage: Storage, photo_ids: Sequence[str]) -> None:
    """Undo uploads of a failed attempt: rows not (yet) on a listing, then their files."""
    for photo_id in photo_ids:
        photo = session.get(Photo, photo_id)
        if photo is not None and photo.listing_id is None:
            session.delete(photo)
    session.commit()
    delete_files(storage, photo_ids)


def delete_files(storage: Storage, photo_ids: Iterable[str]) -> None:
    """Remove stored files of deleted photos (after the DB commit: a leftover file is harmless)."""
    for photo_id in photo_ids:
        for variant in VARIANTS:
            try:
                storage.delete(image_key(photo_id, variant))
            except OSError:
                log.warning("could not delete %s/%s", photo_id, variant, exc_info=True)


def photo_url(photo_id: str, variant: str = "full") -> str:
    return f"/media/{photo_id}/{variant}.jpg"
