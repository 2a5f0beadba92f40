"""Ops fixtures: AI calls made to order, staff users with roles, page CSRF tokens."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.accounts import service as accounts
from trova.accounts.models import User
from trova.ai.models import AICall, CallStatus
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.marketplace.models import Listing, ListingStatus

DRAFT = {
    "title": "Road bike, 54 cm frame",
    "description": "Aluminium road bike with new tyres.",
    "category": "bicycles/road",
    "category_alternatives": [],
    "condition": "good",
    "brand": "Btwin",
    "color": "blue",
    "price_eur": 180.0,
    "price_low_eur": 120.0,
    "price_high_eur": 240.0,
}
CONFIDENCE = {
    "title": 0.9,
    "description": 0.8,
    "category": 0.95,
    "condition": 0.6,
    "brand": 0.7,
    "color": 0.9,
    "price": 0.6,
}


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.db_url)
    yield eng
    eng.dispose()


MakeCall = Callable[..., AICall]


@pytest.fixture
def make_call(engine: Engine) -> MakeCall:
    """Insert one ai_calls row; keyword arguments override the defaults."""

    def make(**fields: Any) -> AICall:
        draft = fields.pop("draft", DRAFT)
        confidence = fields.pop("confidence", CONFIDENCE)
        status = fields.pop("status", CallStatus.ok)
        values: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "created_at": utcnow() - timedelta(minutes=5),
            "provider": "openai",
            "model": "gpt-4o-mini",
            "provider_spec": "openai:gpt-4o-mini",
            "prompt_name": "extract_listing",
            "prompt_version": "v2",
            "prompt_hash": "abc123def456",
            "latency_ms": 800,
            "tokens_in": 1000,
            "tokens_out": 100,
            "cost_usd": 0.0002,
            "status": status,
            "draft": draft if status == CallStatus.ok else None,
            "confidence": confidence if status == CallStatus.ok else None,
            "raw_output": '{"title": "Road bike"}',
        }
        values.update(fields)
        call = AICall(**values)
        with Session(engine, expire_on_commit=False) as session:
            session.add(call)
            session.commit()
        return call

    return make


@pytest.fixture
def seller_user(engine: Engine) -> User:
    with Session(engine, expire_on_commit=False) as session:
        return accounts.register(
            session, email=f"s-{uuid.uuid4().hex[:6]}@example.com", password="pw-123456", name="S"
        )


def publish_listing(
    engine: Engine, call: AICall, seller: User, when: datetime | None = None, **fields: Any
) -> Listing:
    """A published listing made from `call`; fields override what the draft suggested."""
    draft = call.draft or {}
    values: dict[str, Any] = {
        "title": draft.get("title") or "",
        "description": draft.get("description") or "",
        "category": draft.get("category"),
        "condition": draft.get("condition"),
        "brand": draft.get("brand"),
        "color": draft.get("color"),
        "price_cents": round(draft["price_eur"] * 100) if draft.get("price_eur") else None,
    }
    values.update(fields)
    listing = Listing(
        seller_id=seller.id or 0,
        ai_call_id=call.id,
        status=ListingStatus.published,
        published_at=when or utcnow(),
        **values,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(listing)
        session.commit()
        session.refresh(listing)
    return listing


# ---------------------------------------------------------------- people


def staff_client(client: TestClient, engine: Engine, *roles: str, name: str = "Staff") -> User:
    """Register a user through the API (logs `client` in) and grant them `roles`."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    r = client.post(
        "/api/auth/register", json={"email": email, "password": "correct-horse", "name": name}
    )
    assert r.status_code == 201, r.text
    with Session(engine, expire_on_commit=False) as session:
        user = accounts.get_by_email(session, email)
        assert user is not None
        for role in roles:
            user = accounts.grant_role(session, email, role)
    return user


@pytest.fixture
def admin(client: TestClient, engine: Engine) -> User:
    """`client` is logged in as an admin."""
    return staff_client(client, engine, "admin", name="Ada")


def csrf(client: TestClient, path: str = "/ops/queues") -> str:
    """The CSRF token from an ops page's forms."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}: {page.status_code}"
    return match.group(1)


def second_client(client: TestClient) -> TestClient:
    """Another browser (its own cookies) on the same app."""
    return TestClient(client.app, base_url="http://testserver")
