"""In real Chromium: an annotator works a queue with the keyboard, then promotes it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from tests.browser.conftest import (  # noqa: F401  (fixtures, reused)
    DEMO_PHOTOS,
    LiveServer,
    PageProblems,
    browser,
    live_server,
    new_page,
    playwright_instance,
    problems,
)
from trova.accounts import service as accounts
from trova.ai.models import AICall, CallStatus
from trova.db.engine import make_engine
from trova.media.intake import normalize
from trova.media.storage import LocalStorage, image_key, new_image_id
from trova.ops import annotation
from trova.ops.models import Annotation

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


def _seed(server: LiveServer) -> tuple[str, str, str]:
    """An annotator, two logged calls with real photos, and a queue holding them."""
    tag = uuid.uuid4().hex[:8]
    engine = make_engine(server.settings.db_url)
    storage = LocalStorage(server.settings.images_dir)
    email = f"annie-{tag}@example.com"
    try:
        with Session(engine, expire_on_commit=False) as session:
            accounts.register(session, email=email, password=PASSWORD, name="Annie")
            accounts.grant_role(session, email, "annotator")
            for photo in sorted(DEMO_PHOTOS.glob("*.jpg"))[:2]:
                image = normalize(photo.read_bytes()).data
                photo_id = new_image_id()
                for variant in ("full", "card", "thumb"):
                    storage.put(image_key(photo_id, variant), image)
                session.add(
                    AICall(
                        image_ref=photo_id,
                        provider="fake",
                        model="fake",
                        provider_spec="fake",
                        prompt_name="extract_listing",
                        prompt_version="v2",
                        experiment="browser",
                        variant=tag,
                        status=CallStatus.ok,
                        draft={
                            "title": "Adjustable wrench",
                            "description": "A steel adjustable wrench.",
                            "category": "tools-diy/hand-tools",
                            "condition": "good",
                            "brand": None,
                            "color": "silver",
                            "price_eur": 12.0,
                        },
                        confidence={"title": 0.9, "category": 0.8, "color": 0.4, "price": 0.5},
                    )
                )
            session.commit()
            queue = annotation.create_queue(
                session,
                name=f"browser-{tag}",
                rule={"kind": "variant", "experiment": "browser", "variant": tag},
            )
            assert annotation.fill_queue(session, queue) == 2
    finally:
        engine.dispose()
    return email, queue.name, tag


def _log_in(page: Page, email: str) -> None:
    page.goto("/login?next=/ops")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/ops/queues$"))


def test_annotator_works_a_queue_with_the_keyboard_and_promotes(
    new_page: Callable[[], Page],  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    problems: PageProblems,  # noqa: F811
) -> None:
    email, queue_name, tag = _seed(live_server)
    page = new_page()
    _log_in(page, email)
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)  # annotators only
    page.get_by_role("row", name=re.compile(queue_name)).get_by_role(
        "link", name="Annotate"
    ).click()
    expect(page.get_by_role("heading", name=f"Annotate: {queue_name}")).to_be_visible()
    expect(page.locator("#progress")).to_contain_text("2 left")
    photo = page.locator("img.call-photo")
    expect(photo).to_be_visible()
    assert page.eval_on_selector("img.call-photo", "i => i.complete && i.naturalWidth > 0")

    # --- first call: everything right but the color, which is gray, not silver
    page.keyboard.press("a")  # every field correct…
    for _ in range(5):
        page.keyboard.press("j")  # …move down to "color"
    expect(page.locator("tr.annotate-row.current")).to_have_attribute("data-field", "color")
    page.keyboard.press("n")  # wrong: focus jumps to the right-value dropdown
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("name", "value_color")
    focused.select_option("gray")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # save and next
    expect(page.locator("#progress")).to_contain_text("1 judged by you")
    expect(page.locator("#progress")).to_contain_text("1 left")

    # --- second call: all correct
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Queue done")).to_be_visible()

    # --- promote the two annotated calls into a new eval dataset version
    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_label("Dataset").fill(f"browser-{tag}")
    page.get_by_role("button", name="Promote").click()
    expect(page.locator(".flash.success")).to_contain_text(
        f"Promoted 2 case(s) to browser-{tag}@v1"
    )
    expect(page.locator(".promotions")).to_contain_text(f"browser-{tag}@v1")

    engine = make_engine(live_server.settings.db_url)
    try:
        with Session(engine) as session:
            verdicts = [a.verdicts for a in session.exec(select(Annotation)).all()]
    finally:
        engine.dispose()
    colors = sorted(v["color"].get("value") or "" for v in verdicts if "color" in v)
    assert "gray" in colors
    assert problems.items == []
