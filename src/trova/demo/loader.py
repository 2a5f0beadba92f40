"""Load the demo catalogue (catalogue.yaml + photos/) so a newcomer sees a living site."""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from trova.accounts import service as accounts
from trova.accounts.models import User
from trova.config import Settings
from trova.db._time import utcnow
from trova.marketplace import photos as photo_service
from trova.marketplace.forms import ListingInput
from trova.marketplace.models import Listing, ListingStatus
from trova.media.storage import LocalStorage

DEMO_PASSWORD = "demo-password"


class DemoError(RuntimeError):
    pass


def catalogue() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        files("trova.demo").joinpath("catalogue.yaml").read_text("utf-8")
    )
    return data


def load_demo(engine: Engine, settings: Settings, *, only_if_empty: bool = False) -> dict[str, Any]:
    """Insert demo sellers and listings with their real photos; returns counts."""
    data = catalogue()
    storage = LocalStorage(settings.images_dir)
    photo_dir = files("trova.demo").joinpath("photos")
    with Session(engine, expire_on_commit=False) as session:
        existing = session.exec(select(func.count()).select_from(Listing)).one()
        if only_if_empty and existing:
            return {"skipped": True, "listings": 0, "sellers": 0, "password": DEMO_PASSWORD}
        sellers: dict[str, User] = {}
        for entry in data["sellers"]:
            user = accounts.get_by_email(session, entry["email"])
            if user is None:
                user = accounts.register(
                    session, email=entry["email"], password=DEMO_PASSWORD, name=entry["name"]
                )
            sellers[entry["key"]] = user
        now = utcnow()
        count = 0
        for item in data["listings"]:
            seller = sellers[item["seller"]]
            try:
                fields = ListingInput(
                    title=item["title"],
                    description=item["description"],
                    category=item["category"],
                    condition=item["condition"],
                    brand=item.get("brand"),
                    color=item.get("color"),
                    price_cents=round(float(item["price_eur"]) * 100),
                )
            except ValueError as exc:
                raise DemoError(f"demo listing {item['title']!r} is invalid: {exc}") from None
            photo_ids = []
            for name in item["photos"]:
                raw = photo_dir.joinpath(name).read_bytes()
                photo = photo_service.save_upload(session, storage, settings, seller, raw)
                photo_ids.append(photo.id)
            from trova.marketplace import service

            listing = service.create_published(session, seller, fields, photo_ids)
            published = now - timedelta(days=float(item.get("age_days", 0)), minutes=count * 7)
            listing.published_at = published
            listing.created_at = published
            listing.updated_at = published
            if item.get("status") == "sold":
                listing.status = ListingStatus.sold
                listing.sold_at = published + timedelta(days=1)
            session.add(listing)
            session.commit()
            count += 1
    return {"skipped": False, "listings": count, "sellers": len(sellers), "password": DEMO_PASSWORD}
