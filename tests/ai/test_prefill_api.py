"""POST /api/prefill, the pre-filled create form, rate limits, and the logged call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.ai.conftest import PHOTOS
from tests.helpers.images import jpeg_bytes
from tests.marketplace.conftest import register
from trova.ai.models import AICall
from trova.app import create_app
from trova.config import Settings
from trova.db.engine import make_engine


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def fake_client(ai_settings: Settings) -> Iterator[TestClient]:
    with make_client(ai_settings.model_copy(update={"prefill_provider": "fake"})) as c:
        register(c, "s@example.com", "Sam")
        yield c


@pytest.fixture
def local_client(ai_settings: Settings) -> Iterator[TestClient]:
    with make_client(ai_settings.model_copy(update={"prefill_provider": "local"})) as c:
        register(c, "s@example.com", "Sam")
        yield c


def calls(settings: Settings) -> list[AICall]:
    with Session(make_engine(settings.db_url)) as session:
        return list(session.exec(select(AICall)))


def test_prefill_from_an_upload(fake_client: TestClient, ai_settings: Settings) -> None:
    r = fake_client.post("/api/prefill", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["ai_call_id"] and body["warning"] is None
    assert body["draft"]["category"] and 0 <= body["draft"]["confidence"]["category"] <= 1
    [call] = calls(ai_settings)
    assert call.id == body["ai_call_id"] and call.provider == "fake" and call.seller_id is not None
    assert call.image_ref and call.latency_ms >= 0 and call.draft


def test_prefill_from_an_image_id_and_listing_keeps_the_call(fake_client: TestClient) -> None:
    image = fake_client.post(
        "/api/images", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")}
    ).json()
    body = fake_client.post("/api/prefill", data={"image_id": image["id"]}).json()
    r = fake_client.post(
        "/api/listings",
        data={
            "title": "Lamp",
            "category": "home-kitchen/decor",
            "condition": "good",
            "price": "10",
            "photo_ids": image["id"],
            "ai_call_id": body["ai_call_id"],
        },
    )
    assert r.json()["ai_call_id"] == body["ai_call_id"]
    forged = fake_client.post(
        "/api/listings",
        data={
            "title": "Lamp",
            "category": "home-kitchen/decor",
            "condition": "good",
            "price": "10",
            "ai_call_id": "not-a-call",
        },
        files=[("images", ("y.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert forged.status_code == 201 and forged.json()["ai_call_id"] is None


def test_prefill_bad_input_is_4xx(fake_client: TestClient) -> None:
    assert (
        fake_client.post(
            "/api/prefill", files={"image": ("x.jpg", b"%PDF-1.4", "image/jpeg")}
        ).status_code
        == 415
    )
    assert fake_client.post("/api/prefill").status_code == 422
    assert fake_client.post("/api/prefill", data={"image_id": "nope"}).status_code == 404
    r = fake_client.post(
        "/api/prefill",
        data={"image_id": "x"},
        files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert r.status_code == 422
    r = fake_client.post(
        "/api/prefill",
        data={"prompt": "extract_listing@v99"},
        files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert r.status_code == 422 and "v99" in r.json()["detail"]


def test_provider_failure_is_200_with_warning_never_500(ai_settings: Settings) -> None:
    settings = ai_settings.model_copy(
        update={"prefill_provider": "fake:error", "prefill_retries": 1}
    )
    with make_client(settings) as c:
        register(c, "e@example.com")
        r = c.post("/api/prefill", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")})
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "error" and body["warning"] and body["draft"]["title"] is None
    [call] = calls(settings)
    assert call.status == "error" and call.attempts == 2


def test_prefill_times_out_to_a_friendly_empty_form(ai_settings: Settings) -> None:
    settings = ai_settings.model_copy(
        update={"prefill_provider": "fake:slow", "prefill_timeout_s": 0.2, "prefill_retries": 0}
    )
    with make_client(settings) as c:
        register(c, "t@example.com")
        body = c.post("/api/prefill", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")}).json()
        assert body["status"] == "timeout" and "fill in the form" in body["warning"]


def test_prefill_is_rate_limited(ai_settings: Settings) -> None:
    with make_client(
        ai_settings.model_copy(update={"prefill_provider": "fake", "prefill_rate_limit": 2})
    ) as c:
        register(c, "r@example.com")
        for _ in range(2):
            assert (
                c.post(
                    "/api/prefill", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")}
                ).status_code
                == 200
            )
        r = c.post("/api/prefill", files={"image": ("x.jpg", jpeg_bytes(), "image/jpeg")})
        assert r.status_code == 429 and "fill in the form yourself" in r.json()["detail"]


def test_create_form_is_prefilled_by_the_local_model(
    local_client: TestClient, ai_settings: Settings
) -> None:
    page = local_client.get("/sell").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = local_client.post(
        "/sell",
        data={"csrf_token": token},
        follow_redirects=False,
        files=[("photos", ("violin.jpg", (PHOTOS / "violin.jpg").read_bytes(), "image/jpeg"))],
    )
    details = r.headers["location"]
    page = local_client.get(details).text
    assert "Reading your photo" in page and 'hx-get="/sell/' in page  # the loading state
    fragment = local_client.get(details.replace("details", "prefill")).text
    assert 'value="Violin' in fragment
    assert 'value="musical-instruments/strings" selected' in fragment
    assert "Suggested by AI" in fragment
    assert "Please check" in fragment  # condition is low-confidence
    [call] = calls(ai_settings)
    assert call.provider == "local" and call.model.startswith("efficientnet")
    # Reloading reuses the call instead of paying again.
    local_client.get(details.replace("details", "prefill"))
    assert len(calls(ai_settings)) == 1
    again = local_client.get(details).text
    assert 'value="Violin' in again


def test_manual_mode_skips_the_ai(local_client: TestClient) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', local_client.get("/sell").text).group(1)  # type: ignore[union-attr]
    r = local_client.post(
        "/sell",
        data={"csrf_token": token},
        follow_redirects=False,
        files=[("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    page = local_client.get(r.headers["location"] + "?manual=1").text
    assert "Reading your photo" not in page and 'name="title"' in page


def test_failed_prefill_shows_one_friendly_sentence_in_the_form(
    ai_settings: Settings, tmp_path: Path
) -> None:
    settings = ai_settings.model_copy(
        update={"prefill_provider": "fake:error", "prefill_retries": 0}
    )
    with make_client(settings) as c:
        register(c, "f@example.com")
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/sell").text).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/sell",
            data={"csrf_token": token},
            follow_redirects=False,
            files=[("photos", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
        )
        fragment = c.get(r.headers["location"].replace("details", "prefill"))
        assert fragment.status_code == 200
        assert (
            "We couldn&#39;t suggest details" in fragment.text and 'name="title"' in fragment.text
        )
