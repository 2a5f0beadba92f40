"""In real Chromium: thumbs and edits on the pre-filled form produce the expected feedback rows,
and the results page draws its time-to-publish chart."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from tests.browser.conftest import (  # noqa: F401  (fixtures)
    LiveServer,
    PageProblems,
    browser,
    item_photo,
    live_server,
    new_page,
    playwright_instance,
    problems,
)
from tests.rollout.conftest import start_experiment
from trova.accounts import service as accounts
from trova.db.engine import make_engine
from trova.rollout.models import Event, Feedback, FieldFeedback

pytestmark = pytest.mark.browser


def _rows_soon(db_url: str, query: Callable[[Session], list[object]], want: int) -> list[object]:
    """keepalive fetches may land just after the navigation that follows them."""
    engine = make_engine(db_url)
    try:
        deadline = time.monotonic() + 10
        while True:
            with Session(engine) as session:
                rows = query(session)
            if len(rows) >= want or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
    finally:
        engine.dispose()


def test_thumbs_and_edits_become_feedback_rows(
    new_page: Callable[[], Page],  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    item_photo: Path,  # noqa: F811
    problems: PageProblems,  # noqa: F811
    tmp_path: Path,
) -> None:
    db_url = live_server.settings.db_url
    engine = make_engine(db_url)
    start_experiment(engine, "browser-ab", "off=off", "ai=fake", weights=[0, 100])

    page = new_page()
    email = f"tess-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/register")
    page.get_by_label("Your name").fill("Tess Thumbs")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.get_by_role("link", name="+ Sell").click()
    page.locator("#photos").set_input_files([item_photo])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/sell/\d+/details"))
    listing_id = int(re.findall(r"/sell/(\d+)/", page.url)[0])
    expect(page.locator(".ai-disclosure")).to_be_visible(timeout=30_000)
    suggested_title = page.get_by_label("Title").input_value()
    assert suggested_title, "the form is pre-filled"

    # explicit feedback: a thumb, then a comment
    page.get_by_role("button", name="Helpful", exact=True).click()
    expect(page.locator("#ai-feedback").get_by_role("status")).to_contain_text("Thanks")
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_label("What could be better?").fill("Good guess, wrong color.")
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("#ai-feedback")).to_contain_text("your comment helps")

    # edits: a new title and another color, everything else as suggested
    page.get_by_label("Title").fill("Adjustable wrench, 250 mm, chrome vanadium")
    color = page.get_by_label("Color").input_value()
    page.get_by_label("Color").select_option("green" if color != "green" else "blue")
    page.get_by_role("button", name="Continue to preview").click()
    expect(page).to_have_url(re.compile(r"/sell/\d+/review"))
    page.get_by_role("button", name="Publish listing").click()
    expect(page).to_have_url(re.compile(r"/listings/\d+\?published=1"))

    feedback = _rows_soon(db_url, lambda s: list(s.exec(select(Feedback)).all()), 1)
    assert [(f.rating, f.comment) for f in feedback] == [(1, "Good guess, wrong color.")]  # type: ignore[attr-defined]
    edits = _rows_soon(
        db_url,
        lambda s: list(
            s.exec(
                select(Event.field).where(
                    Event.type == "field_edited", Event.listing_id == listing_id
                )
            ).all()
        ),
        2,
    )
    assert sorted(edits) == ["color", "title"]  # type: ignore[type-var]
    with Session(engine) as session:
        rows = {
            r.field: r
            for r in session.exec(
                select(FieldFeedback).where(FieldFeedback.listing_id == listing_id)
            ).all()
        }
    assert rows["title"].outcome == "edited" and rows["title"].ai_value == suggested_title
    assert rows["title"].final_value == "Adjustable wrench, 250 mm, chrome vanadium"
    assert rows["color"].outcome == "edited"
    assert rows["category"].outcome == "accepted"

    # the results page (for an admin) draws the chart from this flow
    with Session(engine) as session:
        accounts.grant_role(session, email, "admin")
    engine.dispose()
    page.goto("/ops/experiments/browser-ab")
    expect(page.get_by_role("heading", name=re.compile("browser-ab"))).to_be_visible()
    expect(page.locator("table.results tbody tr")).to_have_count(2)
    page.wait_for_function("() => window.Chart && Chart.getChart('ttp-chart') !== undefined")
    page.screenshot(path=tmp_path / "results.png", full_page=True)
    assert problems.items == [], problems.items
