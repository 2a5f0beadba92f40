"""The marketplace JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers.images import jpeg_bytes, png_bytes
from tests.marketplace.conftest import create_listing, register


def test_create_listing_with_photos_and_read_it_back(
    client: TestClient, seller: dict[str, Any]
) -> None:
    listing = create_listing(client, price="1,234.50")
    assert listing["price_cents"] == 123450
    assert listing["price"] == "€1,234.50"
    assert listing["currency"] == "EUR"
    assert listing["status"] == "published"
    assert listing["seller"]["name"] == "Sam Seller"
    assert listing["category_label"] == "Bicycles › Road Bikes"
    assert listing["ai_call_id"] is None
    photo = listing["photos"][0]
    img = client.get(photo["url"])
    assert img.status_code == 200
    assert img.headers["content-type"] == "image/jpeg"
    assert img.content[:2] == b"\xff\xd8"
    same = client.get(f"/api/listings/{listing['id']}").json()
    assert same["title"] == "Road bike, 54 cm frame"


def test_upload_image_then_create_listing_from_its_id(
    client: TestClient, seller: dict[str, Any]
) -> None:
    r = client.post("/api/images", files={"image": ("x.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"id", "url", "width", "height"} <= body.keys()
    assert (body["width"], body["height"]) == (400, 300)
    r = client.post(
        "/api/listings",
        data={
            "title": "Blue poster",
            "category": "home-kitchen/decor",
            "condition": "new",
            "price": "12",
            "photo_ids": body["id"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["photos"][0]["id"] == body["id"]


def test_bad_upload_gets_a_clear_4xx_and_stores_nothing(
    client: TestClient, seller: dict[str, Any]
) -> None:
    r = client.post(
        "/api/images",
        files={"image": ("cat.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg")},
    )
    assert r.status_code == 415
    assert "JPEG" in r.json()["detail"]
    r = client.post(
        "/api/listings",
        data={"title": "x", "category": "other", "condition": "good", "price": "5"},
        files=[
            ("images", ("a.jpg", jpeg_bytes(), "image/jpeg")),
            ("images", ("b.jpg", b"GIF89a-not-really", "image/jpeg")),
        ],
    )
    assert 400 <= r.status_code < 500
    assert "b.jpg" in r.json()["detail"]
    assert client.get("/api/listings").json()["total"] == 0
    media_root = client.app.state.settings.images_dir  # type: ignore[attr-defined]
    assert not [p for p in media_root.rglob("*") if p.is_file()], "no orphan files"


def test_uploads_and_listings_require_login(client: TestClient) -> None:
    assert (
        client.post(
            "/api/images", files={"image": ("a.jpg", jpeg_bytes(), "image/jpeg")}
        ).status_code
        == 401
    )
    r = client.post(
        "/api/listings", data={"title": "x", "category": "other", "condition": "good", "price": "5"}
    )
    assert r.status_code == 401
    assert "Log in" in r.json()["detail"]


def test_invalid_fields_are_rejected_with_sentences(
    client: TestClient, seller: dict[str, Any]
) -> None:
    cases = [
        ({"category": "Vehicles"}, "category"),
        ({"condition": "mint"}, "condition"),
        ({"price": "0"}, "more than €0"),
        ({"price": "10000000.01"}, "at most"),
        ({"price": "cheap"}, "price"),
        ({"color": "teal"}, "color"),
        ({"title": "   "}, "title"),
    ]
    for change, expect in cases:
        data = {
            "title": "Lamp",
            "category": "home-kitchen/decor",
            "condition": "good",
            "price": "10",
        }
        data.update(change)
        r = client.post(
            "/api/listings", data=data, files=[("images", ("a.jpg", jpeg_bytes(), "image/jpeg"))]
        )
        assert r.status_code == 422, (change, r.text)
        assert expect in r.json()["detail"], (change, r.json())
    assert client.get("/api/listings").json()["total"] == 0


def test_browse_search_filter_sort_and_pages(client: TestClient, seller: dict[str, Any]) -> None:
    create_listing(
        client, title="Fender electric guitar", category="musical-instruments/guitars", price="450"
    )
    create_listing(client, title="Kids bike with stabilisers", category="bicycles/city", price="40")
    create_listing(client, title="Road bike carbon", category="bicycles/road", price="900")
    r = client.get("/api/listings", params={"q": "guitar"}).json()
    assert [i["title"] for i in r["items"]] == ["Fender electric guitar"]
    r = client.get("/api/listings", params={"q": "BIKE"}).json()
    assert r["total"] == 2
    r = client.get("/api/listings", params={"category": "bicycles", "sort": "price_asc"}).json()
    assert [i["price_cents"] for i in r["items"]] == [4000, 90000]
    r = client.get("/api/listings", params={"sort": "price_desc"}).json()
    assert r["items"][0]["price_cents"] == 90000
    r = client.get("/api/listings", params={"sort": "newest"}).json()
    assert r["items"][0]["title"] == "Road bike carbon"
    r = client.get("/api/listings", params={"page_size": 2, "page": 2}).json()
    assert (r["total"], r["pages"], len(r["items"])) == (3, 2, 1)
    assert client.get("/api/listings", params={"sort": "random"}).status_code == 422
    assert client.get("/api/listings", params={"page": 0}).status_code == 422


def test_only_the_owner_can_change_or_delete(client: TestClient, seller: dict[str, Any]) -> None:
    listing = create_listing(client)
    client.post("/api/auth/logout")
    register(client, "other@example.com", "Olga")
    lid = listing["id"]
    assert client.patch(f"/api/listings/{lid}", json={"title": "Mine now"}).status_code == 403
    assert client.delete(f"/api/listings/{lid}").status_code == 403
    client.post("/api/auth/logout")
    r = client.post(
        "/api/auth/login", json={"email": "seller@example.com", "password": "correct-horse"}
    )
    assert r.status_code == 200
    r = client.patch(f"/api/listings/{lid}", json={"title": "Road bike, 56 cm", "price": "150,50"})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["price_cents"]) == ("Road bike, 56 cm", 15050)
    assert client.patch(f"/api/listings/{lid}", json={"price": "-5"}).status_code == 422
    r = client.patch(f"/api/listings/{lid}", json={"status": "sold"})
    assert r.json()["status"] == "sold"
    assert client.get("/api/listings").json()["total"] == 0  # sold items leave the grid
    assert client.delete(f"/api/listings/{lid}").status_code == 204
    assert client.get(f"/api/listings/{lid}").status_code == 404


def test_contact_seller_delivers_to_inbox(client: TestClient, seller: dict[str, Any]) -> None:
    listing = create_listing(client)
    assert (
        client.post(f"/api/listings/{listing['id']}/messages", json={"body": "mine"}).status_code
        == 422
    )
    client.post("/api/auth/logout")
    assert (
        client.post(f"/api/listings/{listing['id']}/messages", json={"body": "hi"}).status_code
        == 401
    )
    register(client, "buyer@example.com", "Bea Buyer")
    r = client.post(
        f"/api/listings/{listing['id']}/messages", json={"body": "Is it still available?"}
    )
    assert r.status_code == 201, r.text
    assert (
        client.post(f"/api/listings/{listing['id']}/messages", json={"body": ""}).status_code == 422
    )
    client.post("/api/auth/logout")
    client.post(
        "/api/auth/login", json={"email": "seller@example.com", "password": "correct-horse"}
    )
    page = client.get("/inbox")
    assert "Is it still available?" in page.text
    assert "Bea Buyer" in page.text


def test_login_is_rate_limited(client: TestClient) -> None:
    register(client, "x@example.com")
    client.post("/api/auth/logout")
    for _ in range(5):
        r = client.post(
            "/api/auth/login", json={"email": "x@example.com", "password": "wrong-pass"}
        )
        assert r.status_code == 401
    r = client.post("/api/auth/login", json={"email": "x@example.com", "password": "correct-horse"})
    assert r.status_code == 429
    assert "Too many failed logins" in r.json()["detail"]
    assert "Retry-After" in r.headers


def test_register_rejects_duplicates_and_bad_input(client: TestClient) -> None:
    register(client, "dup@example.com")
    r = client.post(
        "/api/auth/register",
        json={"email": "DUP@example.com", "password": "longenough", "name": "B"},
    )
    assert r.status_code == 409
    r = client.post(
        "/api/auth/register", json={"email": "not-an-email", "password": "longenough", "name": "B"}
    )
    assert r.status_code == 422
    r = client.post(
        "/api/auth/register", json={"email": "c@example.com", "password": "short", "name": "B"}
    )
    assert r.status_code == 422


def test_api_token_auth(client: TestClient, seller: dict[str, Any]) -> None:
    token = client.post("/api/auth/token").json()["token"]
    client.post("/api/auth/logout")
    client.cookies.clear()
    r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["email"] == "seller@example.com"
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_cross_site_api_posts_are_refused(client: TestClient, seller: dict[str, Any]) -> None:
    r = client.post(
        "/api/images",
        files={"image": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
