"""Field-level diff between the AI's suggestion and the published listing."""

from __future__ import annotations

from types import SimpleNamespace

from trova.ops.diff import diff_fields, display, draft_values, listing_values, state_of


def _by_field(suggested: dict, published: dict) -> dict:
    return {d.field: d for d in diff_fields(suggested, published)}


def test_each_field_gets_the_state_a_reviewer_would_give_it() -> None:
    draft = draft_values(
        {
            "title": "Road bike  54 cm",
            "description": "Blue aluminium road bike.",
            "category": "bicycles/road",
            "condition": "good",
            "brand": "Btwin",
            "color": None,
            "price_eur": 180.0,
        }
    )
    listing = listing_values(
        SimpleNamespace(
            title="road bike 54 cm",  # case and spacing only: kept
            description="Blue aluminium road bike, new tyres.",
            category="bicycles/mountain",
            condition="good",
            brand="",  # cleared by the seller
            color="blue",  # the AI had nothing, the seller added it
            price_cents=17500,
        )
    )
    diff = _by_field(draft, listing)
    assert diff["title"].state == "accepted"
    assert diff["description"].state == "edited"
    assert diff["category"].state == "edited"
    assert diff["condition"].state == "accepted"
    assert diff["brand"].state == "cleared"
    assert diff["color"].state == "added"
    assert diff["price"].state == "edited"
    assert diff["price"].published == 175.0


def test_prices_compare_to_the_cent() -> None:
    assert state_of("price", 180.0, 180.004) == "accepted"
    assert state_of("price", 180.0, 180.01) == "edited"
    assert state_of("price", None, None) == "empty"


def test_edited_text_shows_which_words_changed() -> None:
    diff = _by_field(
        {"description": "Blue road bike with old tyres."},
        {"description": "Blue road bike with new tyres."},
    )["description"]
    deleted = "".join(s.text for s in diff.segments if s.op == "delete")
    inserted = "".join(s.text for s in diff.segments if s.op == "insert")
    kept = "".join(s.text for s in diff.segments if s.op == "equal")
    assert deleted == "old" and inserted == "new"
    assert kept.startswith("Blue road bike with") and kept.endswith("tyres.")
    assert diff.similarity is not None and 0.8 < diff.similarity < 1


def test_values_display_as_people_read_them() -> None:
    assert display("category", "bicycles/road") == "Bicycles › Road Bikes"
    assert display("condition", "like_new") == "Like new"
    assert display("price", 12.5) == "€12.50"
    assert display("brand", None) == ""
