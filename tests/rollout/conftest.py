"""Rollout fixtures: an app whose default prefill is the fake provider, and create-flow steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.helpers.images import jpeg_bytes
from trova.app import create_app
from trova.config import Settings
from trova.db.engine import make_engine
from trova.rollout import experiments
from trova.rollout.experiments import VariantSpec


@pytest.fixture
def rollout_settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret",
        run_workers=False,
        prefill_provider="fake",
        prefill_retries=0,
        prefill_backoff_s=0.0,
        rollout_abandon_timeout_s=3600,
        rollout_guardrail_interval_s=0,  # judge guardrails after every AI call
    )


@pytest.fixture
def app_client(rollout_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(rollout_settings), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def engine(rollout_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(rollout_settings.db_url)
    yield engine
    engine.dispose()


def start_experiment(
    engine: Engine, name: str, *variants: str, weights: list[float] | None = None, **kw: Any
) -> experiments.ExperimentView:
    specs = [VariantSpec.parse(v) for v in variants]
    if weights:
        specs = [
            VariantSpec(s.name, s.provider, s.prompt, w)
            for s, w in zip(specs, weights, strict=True)
        ]
    with Session(engine, expire_on_commit=False) as session:
        experiments.create(session, name, specs, **kw)
        return experiments.start(session, name)


def register(client: TestClient, email: str) -> dict[str, Any]:
    r = client.post(
        "/api/auth/register",
        json={"email": email, "password": "correct-horse", "name": email.split("@")[0]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def upload(client: TestClient, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET /sell then POST a photo; returns (listing id, CSRF token)."""
    token = csrf_of(client.get("/sell", headers=headers).text)
    r = client.post(
        "/sell",
        data={"csrf_token": token},
        files=[("photos", ("item.jpg", jpeg_bytes(color="red"), "image/jpeg"))],
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/sell/(\d+)/details", r.headers["location"])
    assert match
    return int(match.group(1)), token


def form_values(html: str) -> dict[str, str]:
    from trova.rollout._htmlform import read_form

    return read_form(html).values


FINAL = {
    "title": "Red table lamp, brass base",
    "description": "Works fine.",
    "category": "home-kitchen/decor",
    "condition": "good",
    "brand": "",
    "color": "red",
    "price": "25",
}


def submit_and_publish(
    client: TestClient,
    listing_id: int,
    token: str,
    values: dict[str, str],
    headers: dict[str, str] | None = None,
) -> None:
    r = client.post(
        f"/sell/{listing_id}/details",
        data={**values, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = client.post(
        f"/sell/{listing_id}/publish",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
