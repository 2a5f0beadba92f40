"""The browse page, GET /api/listings?q= and the listing page use search once it is built."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.marketplace.conftest import create_listing, register
from tests.search.conftest import drain
from trova.config import Settings
from trova.search.index import EmbedderFactory
from trova.search.service import ensure_index


def build(client: TestClient, factory: EmbedderFactory) -> None:
    app: Any = client.app
    settings: Settings = app.state.settings
    ensure_index(app.state.engine, settings)
    drain(app.state.engine, factory)


def test_api_search_is_hybrid_with_sorting_and_pages(
    client: TestClient, factory: EmbedderFactory
) -> None:
    register(client, "seller@example.com", "Sam")
    guitar = create_listing(
        client, title="Fender electric guitar", category="musical-instruments/guitars", price="450"
    )
    create_listing(client, title="Kids bike with stabilisers", category="bicycles/city", price="40")
    create_listing(client, title="Road bike carbon", category="bicycles/road", price="900")
    # Before the index exists, q falls back to plain SQL matching: no typo tolerance.
    assert client.get("/api/listings", params={"q": "guitr"}).json()["total"] == 0
    build(client, factory)

    r = client.get("/api/listings", params={"q": "guitr"}).json()
    assert [i["id"] for i in r["items"]][:1] == [guitar["id"]]
    r = client.get("/api/listings", params={"q": "bicycle", "sort": "price_asc"}).json()
    bikes = ["Kids bike with stabilisers", "Road bike carbon"]
    assert [i["title"] for i in r["items"][:2]] == bikes
    r = client.get("/api/listings", params={"q": "bike", "category": "bicycles/road"}).json()
    assert [i["title"] for i in r["items"]] == ["Road bike carbon"]
    r = client.get("/api/listings", params={"q": "bike", "page_size": 1, "page": 2}).json()
    assert (r["page"], len(r["items"])) == (2, 1) and r["total"] >= 2
    assert client.get("/api/listings", params={"q": "bike", "sort": "relevance"}).status_code == 200

    page = client.get("/", params={"q": "bike"}, headers={"accept": "text/html"}).text
    assert "Road bike carbon" in page and "Best match" in page


def test_new_listings_show_up_after_the_worker_runs(
    client: TestClient, factory: EmbedderFactory
) -> None:
    register(client, "seller@example.com", "Sam")
    build(client, factory)
    create_listing(client, title="Violin 4/4 with bow", category="musical-instruments/strings")
    assert client.get("/api/listings", params={"q": "violin"}).json()["total"] == 0  # queued
    build(client, factory)
    assert client.get("/api/listings", params={"q": "violin"}).json()["total"] == 1


def test_listing_page_shows_similar_listings(client: TestClient, factory: EmbedderFactory) -> None:
    register(client, "seller@example.com", "Sam")
    cello = create_listing(
        client, title="Cello 4/4 with bow", category="musical-instruments/strings", price="700"
    )
    create_listing(client, title="Violin, full size", category="musical-instruments/strings")
    create_listing(client, title="Garden spade", category="garden/garden-tools", price="10")
    page = client.get(f"/listings/{cello['id']}", headers={"accept": "text/html"}).text
    assert "Similar listings" not in page  # no index yet: the page still works
    build(client, factory)
    page = client.get(f"/listings/{cello['id']}", headers={"accept": "text/html"}).text
    similar = page.split("Similar listings", 1)[1]
    assert "Violin, full size" in similar
    assert similar.index("Violin, full size") < similar.index("Garden spade")
    assert "Cello 4/4 with bow</h3>" not in similar  # not itself
