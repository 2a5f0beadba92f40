from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers.images import jpeg_bytes


def register(client: TestClient, email: str, name: str = "Ana") -> dict[str, Any]:
    r = client.post(
        "/api/auth/register", json={"email": email, "password": "correct-horse", "name": name}
    )
    assert r.status_code == 201, r.text
    return r.json()


def create_listing(client: TestClient, **fields: Any) -> dict[str, Any]:
    data = {
        "title": "Road bike, 54 cm frame",
        "description": "Aluminium frame, new tyres.",
        "category": "bicycles/road",
        "condition": "good",
        "brand": "Btwin",
        "color": "blue",
        "price": "180",
    }
    data.update({k: str(v) for k, v in fields.items()})
    r = client.post(
        "/api/listings", data=data, files=[("images", ("bike.jpg", jpeg_bytes(), "image/jpeg"))]
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def seller(client: TestClient) -> dict[str, Any]:
    return register(client, "seller@example.com", "Sam Seller")
