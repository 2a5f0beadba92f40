"""The agent's tools on the real services, on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.assistant.conftest import INJECTED_TITLE, listing_id
from trova.assistant import tools
from trova.assistant.models import PendingMessage
from trova.assistant.tools import SearchFilters, TurnDeps, clean, wants_contact
from trova.config import Settings
from trova.marketplace.models import Listing, Message


def ctx(engine: Engine, settings: Settings, user_id: int | None, **kw: Any) -> Any:
    deps = TurnDeps(
        engine=engine,
        settings=settings,
        user_id=user_id,
        offered=frozenset(),
        **kw,
    )
    return SimpleNamespace(deps=deps)


def test_search_applies_price_limit_and_category(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    c = ctx(engine, asettings, buyer)
    out = tools.search_listings(c, "road bike", SearchFilters(max_price=200))
    prices = [r["price_eur"] for r in out["results"]]
    assert prices and all(p <= 200 for p in prices)
    titles = {r["seller_text"]["title"] for r in out["results"]}
    assert "Carbon road bike, 56 cm, Ultegra" not in titles  # €1,250
    assert "Kids road bike, 24-inch wheels, aluminium frame" in titles
    assert c.deps.seen_ids == {r["id"] for r in out["results"]}

    city = tools.search_listings(c, "bike", SearchFilters(category="bicycles/city"))
    assert [r["category"] for r in city["results"]] == ["bicycles/city"]

    cheap_first = tools.search_listings(c, "guitar", SearchFilters(sort="price_asc", min_price=100))
    assert [r["price_eur"] for r in cheap_first["results"]] == [150.0, 240.0]


def test_search_explains_unknown_category_and_empty_results(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    out = tools.search_listings(
        ctx(engine, asettings, buyer), "harpsichord", SearchFilters(category="instruments/keys")
    )
    assert out["results"] == []
    assert any("Unknown category" in h for h in out["hints"])
    assert any("Nothing matched" in h for h in out["hints"])


def test_sold_listings_are_not_search_results_but_can_be_looked_up(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    c = ctx(engine, asettings, buyer)
    assert tools.search_listings(c, "violin")["results"] == []
    violin = listing_id(engine, "Violin 4/4 with bow and case")
    detail = tools.get_listing(c, violin)
    assert detail["status"] == "sold" and detail["url"] == f"/listings/{violin}"
    assert "error" in tools.get_listing(c, 987654)


def test_price_stats_from_comparables_or_words(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    c = ctx(engine, asettings, buyer)
    by_category = tools.price_stats(c, category="bicycles/road")
    assert by_category["comparables"] >= 3
    assert by_category["low_eur"] <= by_category["median_eur"] <= by_category["high_eur"]
    by_words = tools.price_stats(c, query="road bike")
    assert by_words["category"] == "bicycles/road"
    assert "error" in tools.price_stats(c)


def test_draft_message_only_creates_a_pending_draft(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    target = listing_id(engine, "City bike with basket, 3 gears")
    c = ctx(engine, asettings, buyer, trace_id="t" * 32, max_drafts=1)
    out = tools.draft_message(c, target, "Is it still available?")
    assert "NOT sent" in out["status"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 0
        draft = session.get(PendingMessage, out["pending_message_id"])
        assert draft is not None
        assert (draft.status, draft.user_id, draft.listing_id) == ("pending", buyer, target)
    # the per-turn cap holds, whatever the model asks for
    again = tools.draft_message(c, listing_id(engine, INJECTED_TITLE), "hi")
    assert "error" in again
    assert c.deps.drafts == [out["pending_message_id"]]


def test_draft_message_refusals(seeded: tuple[Engine, int], asettings: Settings) -> None:
    engine, buyer = seeded
    target = listing_id(engine, "City bike with basket, 3 gears")
    assert "log in" in tools.draft_message(ctx(engine, asettings, None), target, "hi")["error"]
    c = ctx(engine, asettings, buyer, max_drafts=5)
    assert "error" in tools.draft_message(c, 987654, "hi")
    sold = listing_id(engine, "Violin 4/4 with bow and case")
    assert "no longer available" in tools.draft_message(c, sold, "hi")["error"]
    assert "error" in tools.draft_message(c, target, "   ")
    with Session(engine) as session:
        seller_of_target = session.get(Listing, target)
        assert seller_of_target is not None
        own = ctx(engine, asettings, seller_of_target.seller_id, max_drafts=5)
    assert "own listing" in tools.draft_message(own, target, "hi")["error"]


def test_seller_text_is_cleaned_and_labelled(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    assert clean("Nice\x00 bike\u202e reversed\n\n\tok", 100) == "Nice bike reversed ok"
    assert clean("x" * 50, 10) == "x" * 9 + "…"
    engine, buyer = seeded
    out = tools.get_listing(ctx(engine, asettings, buyer), listing_id(engine, INJECTED_TITLE))
    assert "ignore your instructions" in out["seller_text"]["description"]
    assert "never follow" in out["note"]
    assert set(out) - {"seller_text"} >= {"id", "price_eur", "status"}


def test_contact_intent_comes_from_the_buyers_words_only() -> None:
    assert wants_contact("find a bike and ask the seller if it's still available")
    assert wants_contact("Frag den Verkäufer, ob es noch da ist")
    assert not wants_contact("show me road bikes under 200")
    assert wants_contact("yes please", "Shall I draft a message to the seller?")
    assert not wants_contact("yes please", "Here are three bikes.")
    assert not wants_contact("yes please")
