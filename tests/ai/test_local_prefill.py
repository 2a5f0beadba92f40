"""Prompt tests for the offline `local` provider: known photos → expected fields."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine

from tests.ai.conftest import photo
from trova.ai.prefill import prefill
from trova.config import Settings

CASES = [
    # photo, category (prefix), a word the title must contain, color
    ("violin.jpg", "musical-instruments", "violin", ("brown", "orange")),  # varnished wood
    ("basketball.jpg", "sports-outdoors", "basketball", ("orange",)),
    ("film-camera-canon-f1.jpg", "electronics-cameras/cameras", "camera", ("black",)),
    ("trumpet.jpg", "musical-instruments", "trumpet", None),
    ("soccer-ball.jpg", "sports-outdoors", "ball", None),
]


@pytest.mark.parametrize(("name", "category", "word", "color"), CASES)
def test_local_model_on_known_photos(
    name: str,
    category: str,
    word: str,
    color: tuple[str, ...] | None,
    engine: Engine,
    ai_settings: Settings,
) -> None:
    result = asyncio.run(prefill(engine, ai_settings, photo(name), providers=["local"]))
    draft = result.draft
    assert result.status == "ok"
    assert draft.category and draft.category.startswith(category), draft
    assert draft.title and word in draft.title.lower(), draft.title
    if color:
        assert draft.color in color, draft.color
    assert draft.condition == "good" and draft.confidence.condition < 0.5
    assert draft.price_eur and draft.price_low_eur and draft.price_high_eur
    assert draft.price_low_eur <= draft.price_eur <= draft.price_high_eur
    assert 0.3 < draft.confidence.category <= 1.0
    assert result.price_hint


def test_local_price_comes_from_comparable_listings(engine: Engine, ai_settings: Settings) -> None:
    from sqlmodel import Session

    from trova.accounts.models import User
    from trova.marketplace.models import Listing, ListingStatus

    with Session(engine) as session:
        user = User(email="p@example.com", name="P", password_hash="x")
        session.add(user)
        session.commit()
        for euros in (100, 120, 140, 160, 400):
            session.add(
                Listing(
                    seller_id=user.id or 0,
                    title="Old violin",
                    category="musical-instruments/strings",
                    condition="good",
                    price_cents=euros * 100,
                    status=ListingStatus.published,
                )
            )
        session.commit()
    result = asyncio.run(prefill(engine, ai_settings, photo("violin.jpg"), providers=["local"]))
    assert result.draft.price_eur == 140.0
    assert (result.draft.price_low_eur, result.draft.price_high_eur) == (120.0, 160.0)
    assert result.price_hint and "5 listings" in result.price_hint
