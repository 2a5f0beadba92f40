"""The flows a person uses, in real Chromium: sell an item from a photo, get contacted."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer, PageProblems

pytestmark = pytest.mark.browser

NewPage = Callable[[], Page]


def register(page: Page, name: str) -> str:
    """Sign up through the /register form; returns the email used."""
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/register")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return email


def upload_photos(page: Page, *files: Path) -> None:
    """Step 1 of the create flow: choose photos, see them previewed, continue."""
    page.get_by_role("link", name="+ Sell").click()
    expect(page).to_have_url(re.compile(r"/sell$"))
    expect(page.get_by_role("heading", name="Start with a photo")).to_be_visible()
    page.locator("#photos").set_input_files(list(files))
    expect(page.locator("#previews img")).to_have_count(len(files))
    page.get_by_role("button", name="Continue").click()


def open_details_form(page: Page) -> None:
    """Wait for step 2's form, whether it renders at once or after the photo is read."""
    expect(page).to_have_url(re.compile(r"/sell/\d+/details"))
    expect(page.get_by_role("heading", name="Describe your item")).to_be_visible()
    expect(page.locator("#listing-form #title")).to_be_visible(timeout=30_000)


def image_loaded(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


def test_sell_from_a_photo_then_buyer_contacts_seller(
    new_page: NewPage,
    live_server: LiveServer,
    item_photo: Path,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    title = f"Adjustable wrench, 250 mm {uuid.uuid4().hex[:4]}"

    # --- the seller signs up and lists an item, starting from its photo
    seller = new_page()
    register(seller, "Sam Seller")
    upload_photos(seller, item_photo)
    open_details_form(seller)
    expect(seller.locator(".form-photos img.cover")).to_be_visible()
    assert image_loaded(seller, ".form-photos img.cover"), "the uploaded photo shows on step 2"
    seller.get_by_label("Title").fill(title)
    seller.get_by_label("Description").fill("Chrome vanadium, barely used.\n\nPick-up in Lyon.")
    seller.get_by_label("Category").select_option("tools-diy/hand-tools")
    seller.get_by_label("Condition").select_option("like_new")
    seller.get_by_label("Brand").fill("Bahco")
    seller.get_by_label("Color").select_option("silver")
    seller.get_by_label("Price").fill("12,50")  # a decimal comma, as many Europeans type it
    seller.get_by_role("button", name="Continue to preview").click()

    # --- preview, then publish
    expect(seller).to_have_url(re.compile(r"/sell/\d+/review"))
    review = seller.locator("main")
    expect(review.get_by_role("heading", name=title)).to_be_visible()
    expect(review).to_contain_text("€12.50")
    expect(review).to_contain_text("Tools & DIY › Hand Tools")
    expect(review).to_contain_text("Bahco")
    seller.get_by_role("button", name="Publish listing").click()
    expect(seller).to_have_url(re.compile(r"/listings/\d+\?published=1"))
    expect(seller.get_by_role("status")).to_contain_text("Your listing is live")
    listing_path = re.sub(r"\?.*", "", seller.url.removeprefix(live_server.url))

    # --- it is in the grid on the home page, first (newest), with its photo
    seller.goto("/")
    card = seller.locator(".grid .card").first
    expect(card.get_by_role("heading", name=title)).to_be_visible()
    expect(card).to_contain_text("€12.50")
    expect(card.locator("img")).to_have_attribute("alt", title)
    seller.wait_for_function(
        "() => [...document.querySelectorAll('.grid .card img')].slice(0, 8)"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    seller.screenshot(path=tmp_path / "browse.png", full_page=True)

    # --- a buyer signs up in another browser, opens the listing and writes to the seller
    buyer = new_page()
    register(buyer, "Bea Buyer")
    buyer.get_by_role("link", name=title).click()
    expect(buyer).to_have_url(re.compile(re.escape(listing_path) + "$"))
    expect(buyer.get_by_role("heading", level=1)).to_have_text(title)
    expect(buyer.locator("#main-photo")).to_be_visible()
    assert image_loaded(buyer, "#main-photo"), "the listing photo loads"
    buyer.screenshot(path=tmp_path / "listing.png", full_page=True)
    message = "Hi! Is the wrench still available? I can pick it up on Saturday."
    contact = buyer.locator("#contact")
    expect(contact.get_by_role("heading")).to_have_text("Contact Sam Seller")
    contact.get_by_label("Your message").fill(message)
    contact.get_by_role("button", name="Send message").click()
    expect(buyer.locator("#contact").get_by_role("status")).to_contain_text("Message sent")

    # --- the seller finds it in the inbox
    seller.get_by_role("link", name="Inbox").click()
    expect(seller).to_have_url(re.compile(r"/inbox$"))
    entry = seller.locator(".messages .message").first
    expect(entry).to_contain_text("Bea Buyer")
    expect(entry).to_contain_text(message)
    expect(entry.get_by_role("link", name=title)).to_have_attribute("href", listing_path)
    expect(entry.locator(".pill")).to_have_text("new")

    assert problems.items == [], problems.items


def test_a_text_file_named_jpg_is_refused_with_a_message(
    new_page: NewPage, tmp_path: Path, problems: PageProblems
) -> None:
    fake = tmp_path / "holiday.jpg"
    fake.write_text("Dear diary, today I sold my bike.\n" * 20)
    page = new_page()
    register(page, "Uma Uploader")
    upload_photos(page, fake)

    expect(page).to_have_url(re.compile(r"/sell$"))  # still on step 1, nothing created
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("We couldn't use these photos, so nothing was saved")
    expect(alert).to_contain_text("holiday.jpg:")
    expect(alert).to_contain_text("not a photo we can read")
    expect(page.locator("#photos")).to_be_visible()  # and the seller can try again
    page.get_by_role("link", name="My listings").click()
    expect(page.locator("main")).not_to_contain_text("Draft")
    assert problems.items == [], problems.items


def test_every_field_of_the_details_form_has_a_label(new_page: NewPage, item_photo: Path) -> None:
    page = new_page()
    register(page, "Lea Labels")
    upload_photos(page, item_photo)
    open_details_form(page)
    # Visible form controls without a <label for=…>, a wrapping <label> or an aria-label.
    unlabeled = page.eval_on_selector_all(
        "#listing-form input, #listing-form select, #listing-form textarea",
        """els => els
            .filter(el => el.type !== 'hidden' && el.type !== 'submit')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML.slice(0, 120))""",
    )
    assert unlabeled == [], unlabeled
    names = page.eval_on_selector_all(
        "#listing-form [name]:not([type=hidden])", "els => els.map(el => el.name)"
    )
    for name in ("title", "description", "category", "condition", "brand", "color", "price"):
        assert name in names, f"step 2 has no {name!r} field: {names}"
    # Each label names its field: clicking the label focuses the control behind it.
    for label in ("Title", "Description", "Price"):
        page.locator("#listing-form label", has_text=label).first.click()
        focused = page.evaluate("document.activeElement.id")
        assert focused == label.lower(), f"clicking the {label!r} label focused {focused!r}"
