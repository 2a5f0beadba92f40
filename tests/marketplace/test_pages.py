"""The HTML pages: the create flow through forms, CSRF, escaping, ownership."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers.images import jpeg_bytes
from tests.marketplace.conftest import create_listing, register


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "page has a CSRF token"
    return match.group(1)


def test_photo_first_create_flow(client: TestClient, seller: dict[str, Any]) -> None:
    token = csrf(client, "/sell")
    r = client.post(
        "/sell",
        data={"csrf_token": token},
        files=[
            ("photos", ("a.jpg", jpeg_bytes(color="red"), "image/jpeg")),
            ("photos", ("b.jpg", jpeg_bytes(color="blue"), "image/jpeg")),
        ],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    details_url = r.headers["location"]
    assert re.fullmatch(r"/sell/\d+/details", details_url)
    assert "Reading your photo" in client.get(details_url).text  # AI prefill loads via htmx
    form_page = client.get(details_url + "?manual=1")
    assert 'name="title"' in form_page.text and 'id="category"' in form_page.text
    # Step 2 with an error: kept values, an error message next to the field.
    r = client.post(
        details_url,
        data={
            "csrf_token": token,
            "title": "Red lamp",
            "price": "abc",
            "category": "home-kitchen/decor",
            "condition": "good",
        },
    )
    assert r.status_code == 422
    assert "Enter a price in euros" in r.text and 'value="Red lamp"' in r.text
    r = client.post(
        details_url,
        data={
            "csrf_token": token,
            "title": "Red lamp",
            "price": "25",
            "category": "home-kitchen/decor",
            "condition": "good",
            "description": "Works fine.",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    review = client.get(r.headers["location"])
    assert "€25.00" in review.text
    lid = int(details_url.split("/")[2])
    assert client.get(f"/api/listings/{lid}").json()["status"] == "draft"
    client.post("/api/auth/logout")
    assert client.get(f"/api/listings/{lid}").status_code == 404  # drafts are private
    client.post(
        "/api/auth/login", json={"email": "seller@example.com", "password": "correct-horse"}
    )
    token = csrf(client, f"/sell/{lid}/review")
    r = client.post(f"/sell/{lid}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    listing = client.get(f"/api/listings/{lid}").json()
    assert listing["status"] == "published" and len(listing["photos"]) == 2
    assert "Red lamp" in client.get("/").text


def test_bad_photo_in_step_one_shows_message_and_saves_nothing(
    client: TestClient, seller: dict[str, Any]
) -> None:
    token = csrf(client, "/sell")
    r = client.post(
        "/sell",
        data={"csrf_token": token},
        files=[
            ("photos", ("ok.jpg", jpeg_bytes(), "image/jpeg")),
            ("photos", ("notes.txt", b"hello there", "text/plain")),
        ],
    )
    assert r.status_code == 422
    assert "notes.txt" in r.text and "nothing was saved" in r.text
    assert "Untitled draft" not in client.get("/my/listings").text


def test_forms_without_csrf_token_are_refused(client: TestClient, seller: dict[str, Any]) -> None:
    listing = create_listing(client)
    r = client.post(f"/listings/{listing['id']}/sold", data={})
    assert r.status_code == 403
    r = client.post(f"/listings/{listing['id']}/sold", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert client.get(f"/api/listings/{listing['id']}").json()["status"] == "published"


def test_listing_text_is_escaped_everywhere(client: TestClient, seller: dict[str, Any]) -> None:
    evil = '<script>alert("x")</script>'
    listing = create_listing(
        client, title=f"Lamp {evil}", description=f"Nice {evil}", brand="<b>B</b>"
    )
    for path in (
        "/",
        f"/listings/{listing['id']}",
        "/my/listings",
        f"/listings/{listing['id']}/edit",
    ):
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;" in html, path
    assert "<b>B</b>" not in client.get(f"/listings/{listing['id']}").text


def test_someone_elses_listing_cannot_be_edited(client: TestClient, seller: dict[str, Any]) -> None:
    listing = create_listing(client)
    client.post("/api/auth/logout")
    register(client, "mallory@example.com", "Mallory")
    token = csrf(client, "/")
    assert client.get(f"/listings/{listing['id']}/edit").status_code == 403
    r = client.post(f"/listings/{listing['id']}/edit", data={"csrf_token": token, "title": "x"})
    assert r.status_code == 403
    r = client.post(f"/listings/{listing['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 403


def test_contact_form_and_inbox(client: TestClient, seller: dict[str, Any]) -> None:
    listing = create_listing(client)
    client.post("/api/auth/logout")
    register(client, "bea@example.com", "Bea")
    token = csrf(client, f"/listings/{listing['id']}")
    r = client.post(f"/listings/{listing['id']}/contact", data={"csrf_token": token, "body": "  "})
    assert r.status_code == 422 and "Write a message" in r.text
    r = client.post(
        f"/listings/{listing['id']}/contact",
        data={"csrf_token": token, "body": "Can I see it <b>Saturday</b>?"},
    )
    assert r.status_code == 200 and "Message sent" in r.text
    client.post("/api/auth/logout")
    client.post(
        "/api/auth/login", json={"email": "seller@example.com", "password": "correct-horse"}
    )
    inbox = client.get("/inbox").text
    assert "Can I see it &lt;b&gt;Saturday&lt;/b&gt;?" in inbox


def test_pages_redirect_anonymous_sellers_to_login(client: TestClient) -> None:
    r = client.get("/sell", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_page_and_open_redirect_guard(client: TestClient) -> None:
    register(client, "l@example.com")
    client.post("/api/auth/logout")
    token = csrf(client, "/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "l@example.com",
            "password": "correct-horse",
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_browse_page_shows_price_category_and_age(
    client: TestClient, seller: dict[str, Any]
) -> None:
    create_listing(
        client, title="Weber kettle grill", category="garden/outdoor-living", price="1234.5"
    )
    html = client.get("/?category=garden").text
    assert "Weber kettle grill" in html and "€1,234.50" in html and "Outdoor Living" in html
    assert "just now" in html
    assert "Weber" not in client.get("/?category=bicycles").text
