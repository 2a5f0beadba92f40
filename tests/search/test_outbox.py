"""Every listing change enqueues an index job in the same transaction (the outbox)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests.search.conftest import add_listing, job_count, jobs, seller
from trova.accounts.models import User
from trova.marketplace import service
from trova.marketplace.forms import ListingInput
from trova.marketplace.models import Listing, ListingStatus
from trova.search.models import IndexJob


def test_create_edit_sell_delete_each_enqueue_a_job(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        user = session.get(User, seller(engine))
        assert user is not None
        listing = Listing(seller_id=user.id or 0)
        session.add(listing)
        session.commit()
        lid = listing.id
        assert lid is not None
        assert [(j.listing_id, j.op) for j in jobs(engine)] == [(lid, "upsert")]

        data = ListingInput(
            title="Cello 4/4",
            category="musical-instruments/strings",
            condition="good",
            price_cents=75000,
        )
        service.save_details(session, listing, data)
        assert len(jobs(engine, lid)) == 2
        listing.status = ListingStatus.published
        session.add(listing)
        session.commit()
        service.mark_sold(session, listing)
        assert len(jobs(engine, lid)) == 4
        service.delete_listing(session, listing)  # a bulk DELETE statement, not an ORM delete
    ops = [j.op for j in jobs(engine, lid)]
    assert ops[-1] == "delete" and len(ops) == 5


def test_a_rolled_back_change_leaves_no_job(engine: Engine) -> None:
    lid = add_listing(engine)
    before = job_count(engine)
    with Session(engine) as session:
        listing = session.get(Listing, lid)
        assert listing is not None
        listing.title = "Changed my mind"
        session.add(listing)
        session.flush()  # the job row is written in this transaction…
        inside = session.exec(select(func.count()).select_from(IndexJob)).one()
        assert (inside, job_count(engine)) == (before + 1, before)  # …invisible outside it
        session.rollback()  # …and goes away with the change
    assert job_count(engine) == before


def test_an_untouched_listing_enqueues_nothing(engine: Engine) -> None:
    lid = add_listing(engine)
    before = job_count(engine)
    with Session(engine) as session:
        listing = session.get(Listing, lid)
        session.add(listing)
        session.commit()
    assert job_count(engine) == before


@pytest.mark.parametrize("field", ["title", "price_cents"])
def test_bulk_updates_are_caught_too(engine: Engine, field: str) -> None:
    from sqlalchemy import update

    lid = add_listing(engine)
    before = job_count(engine)
    with Session(engine) as session:
        value = "Renamed" if field == "title" else 1
        session.exec(update(Listing).where(Listing.id == lid).values({field: value}))  # type: ignore[call-overload]
        session.commit()
    assert job_count(engine) == before + 1
