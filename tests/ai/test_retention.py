"""After the retention period, AI calls forget their photo and unattached uploads go."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from tests.helpers.images import jpeg_bytes
from trova.accounts.models import User
from trova.ai.models import AICall
from trova.ai.retention import apply_retention
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.marketplace import photos, service
from trova.media.storage import LocalStorage, image_key


def test_retention_clears_old_image_refs_and_unattached_photos(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    storage = LocalStorage(settings.images_dir)
    with Session(engine, expire_on_commit=False) as session:
        user = User(email="r@example.com", name="R", password_hash="x")
        session.add(user)
        session.commit()
        kept = photos.save_upload(session, storage, settings, user, jpeg_bytes())
        orphan = photos.save_upload(session, storage, settings, user, jpeg_bytes(color="blue"))
        service.create_draft(session, user, [kept.id])
        old = AICall(
            provider="fake",
            model="fake-1",
            provider_spec="fake",
            image_ref=orphan.id,
            created_at=utcnow() - timedelta(days=100),
        )
        new = AICall(provider="fake", model="fake-1", provider_spec="fake", image_ref=kept.id)
        session.add_all([old, new])
        session.commit()
        later = utcnow() + timedelta(days=settings.ai_image_retention_days + 1)
        result = apply_retention(session, settings, storage, now=utcnow())
        assert (result.calls_cleared, result.photos_deleted) == (1, 0)
        result = apply_retention(session, settings, storage, now=later)
        assert result.photos_deleted == 1
        session.refresh(new)
        assert new.image_ref is None
        assert not storage.exists(image_key(orphan.id, "full"))
        assert storage.exists(image_key(kept.id, "full"))  # a listing's photo stays
