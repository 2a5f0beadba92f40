"""The buyer chat page, pending messages, the JSON API and the ops pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart
from pydantic_ai.models.function import AgentInfo
from sqlmodel import Session

from tests.assistant.conftest import call, make_assistant, text
from tests.marketplace.conftest import create_listing, register
from trova.accounts import service as accounts
from trova.config import Settings

HX = {"hx-request": "true"}


def csrf(client: TestClient, path: str = "/assistant") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: TestClient, email: str) -> None:
    client.post("/api/auth/logout")
    r = client.post("/api/auth/login", json={"email": email, "password": "correct-horse"})
    assert r.status_code == 200, r.text


def shopper(messages: list[ModelMessage], info: AgentInfo) -> Any:
    done = [
        p
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]
    if not done:
        return call("search_listings", query="road bike", filters={"max_price": 200})
    results = done[0].content["results"]
    if len(done) == 1 and "draft_message" in {t.name for t in info.function_tools}:
        return call("draft_message", listing_id=results[0]["id"], text="Still available?")
    cited = " ".join(f"[#{r['id']}]" for r in results)
    return text(f"Here you go: {cited} and [#999999].")


@pytest.fixture
def market(client: TestClient, settings: Settings) -> dict[str, Any]:
    """A seller with two road bikes (one too expensive), a logged-in buyer, the assistant."""
    register(client, "seller@example.com", "Sam Seller")
    cheap = create_listing(client, title="Kids road bike 24 inch", price="150")
    dear = create_listing(client, title="Carbon road bike", price="900")
    client.post("/api/auth/logout")
    register(client, "buyer@example.com", "Bea Buyer")
    app: Any = client.app
    app.state.assistant = make_assistant(settings, app.state.engine, shopper)
    return {"cheap": cheap, "dear": dear}


def test_without_a_provider_the_page_explains_how_to_configure_one(client: TestClient) -> None:
    r = client.get("/assistant")
    assert r.status_code == 200
    assert "TROVA_OPENAI_API_KEY" in r.text and "openai-compatible:" in r.text
    assert "TROVA_ASSISTANT_PROVIDER=scripted" in r.text
    assert client.get("/").status_code == 200  # the rest of Trova works offline
    r = client.post("/api/assistant/messages", json={"message": "bikes"})
    assert r.status_code == 200 and r.json()["status"] == "not_configured"
    assert "TROVA_OPENAI_API_KEY" in r.json()["answer"]


def test_a_broken_provider_spec_is_explained(client: TestClient, settings: Settings) -> None:
    settings.assistant_provider = "openai-compatible:qwen"  # no @<url>
    r = client.get("/assistant")
    assert r.status_code == 200 and "not set up correctly" in r.text
    assert "write openai-compatible:&lt;model&gt;@&lt;base_url&gt;" in r.text
    r = client.post("/api/assistant/messages", json={"message": "bikes"})
    assert r.json()["status"] == "not_configured" and "openai-compatible" in r.json()["answer"]


def test_scripted_provider_makes_the_page_work_offline(
    client: TestClient, settings: Settings
) -> None:
    settings.assistant_provider = "scripted"
    register(client, "seller@example.com", "Sam Seller")
    create_listing(client, title="Road bike for kids", price="120")
    token = csrf(client)
    r = client.post(
        "/assistant", data={"csrf_token": token, "message": "road bike under 200"}, headers=HX
    )
    assert r.status_code == 200 and "Road bike for kids" in r.text and "€120" in r.text


def test_chat_turn_shows_cards_and_a_pending_message_then_confirm_sends_it(
    client: TestClient, market: dict[str, Any]
) -> None:
    token = csrf(client)
    r = client.post(
        "/assistant",
        data={"csrf_token": token, "message": "a road bike under 200, ask if it's available"},
        headers=HX,
    )
    assert r.status_code == 200
    page = r.text
    assert 'class="bubble bubble-user"' in page and "ask if it&#39;s available" in page
    assert f'href="/listings/{market["cheap"]["id"]}"' in page  # card + citation link
    assert "Kids road bike 24 inch" in page and "Carbon road bike" not in page
    assert "999999" not in page  # the unknown id was stripped
    assert "Confirm and send" in page and "Still available?" in page
    pending_id = int(re.search(r"/assistant/pending/(\d+)/confirm", page).group(1))  # type: ignore[union-attr]

    # the conversation persists on a full page load
    assert "Kids road bike 24 inch" in client.get("/assistant").text

    # nothing reached the seller yet
    login(client, "seller@example.com")
    assert "Still available?" not in client.get("/inbox").text
    login(client, "buyer@example.com")

    # another buyer cannot confirm it
    client.post("/api/auth/logout")
    register(client, "eve@example.com", "Eve")
    r = client.post(f"/assistant/pending/{pending_id}/confirm", data={"csrf_token": csrf(client)})
    assert r.status_code == 404
    login(client, "buyer@example.com")

    # no CSRF token: refused
    r = client.post(f"/assistant/pending/{pending_id}/confirm", data={})
    assert r.status_code == 403

    token = csrf(client)
    r = client.post(
        f"/assistant/pending/{pending_id}/confirm",
        data={"csrf_token": token, "body": "Still available? I can pick it up Saturday."},
        headers=HX,
    )
    assert r.status_code == 200 and "Sent to the seller" in r.text
    r = client.post(
        f"/assistant/pending/{pending_id}/confirm", data={"csrf_token": token}, headers=HX
    )
    assert "already sent" in r.text  # a second click sends nothing more

    login(client, "seller@example.com")
    inbox = client.get("/inbox").text
    assert inbox.count("I can pick it up Saturday.") == 1


def test_cancel_sends_nothing(client: TestClient, market: dict[str, Any]) -> None:
    token = csrf(client)
    page = client.post(
        "/assistant", data={"csrf_token": token, "message": "bike, ask the seller"}, headers=HX
    ).text
    pending_id = re.search(r"/assistant/pending/(\d+)/cancel", page).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/assistant/pending/{pending_id}/cancel", data={"csrf_token": token}, headers=HX
    )
    assert "Cancelled" in r.text
    r = client.post(
        f"/assistant/pending/{pending_id}/confirm", data={"csrf_token": token}, headers=HX
    )
    assert "already cancelled" in r.text
    login(client, "seller@example.com")
    assert "Still available?" not in client.get("/inbox").text


def test_logged_out_visitors_can_search_but_get_no_drafts(
    client: TestClient, market: dict[str, Any]
) -> None:
    client.post("/api/auth/logout")
    page = client.get("/assistant").text
    assert "log in" in page
    r = client.post(
        "/assistant",
        data={"csrf_token": csrf(client), "message": "road bike, ask the seller"},
        headers=HX,
    )
    assert "Kids road bike 24 inch" in r.text and "Confirm and send" not in r.text


def test_plain_form_post_redirects_back_to_the_conversation(
    client: TestClient, market: dict[str, Any]
) -> None:
    r = client.post(
        "/assistant",
        data={"csrf_token": csrf(client), "message": "road bike"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/assistant")
    assert "Kids road bike 24 inch" in client.get("/assistant").text
    client.post("/assistant/new", data={"csrf_token": csrf(client)})
    assert "Kids road bike 24 inch" not in client.get("/assistant").text


def test_rate_limit_is_a_friendly_reply(
    client: TestClient, market: dict[str, Any], settings: Settings
) -> None:
    app: Any = client.app
    app.state.assistant.limiter.limit = 1
    token = csrf(client)
    client.post("/assistant", data={"csrf_token": token, "message": "bike"}, headers=HX)
    r = client.post("/assistant", data={"csrf_token": token, "message": "bike"}, headers=HX)
    assert r.status_code == 200 and "Try again in" in r.text
    r = client.post("/api/assistant/messages", json={"message": "bike"})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_json_api_ask_and_confirm(client: TestClient, market: dict[str, Any]) -> None:
    r = client.post("/api/assistant/messages", json={"message": "road bike, ask the seller"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and market["cheap"]["id"] in body["cited_listing_ids"]
    assert 999999 not in body["cited_listing_ids"]
    [pending] = body["pending_messages"]
    assert pending["status"] == "pending"
    r = client.post(f"/api/assistant/pending/{pending['id']}/confirm", json={})
    assert r.status_code == 200 and r.json()["status"] == "sent"
    r = client.post(f"/api/assistant/pending/{pending['id']}/cancel")
    assert r.status_code == 409


def test_ops_pages_need_admin_and_show_traces_and_tool_rollout(
    client: TestClient, market: dict[str, Any]
) -> None:
    token = csrf(client)
    client.post("/assistant", data={"csrf_token": token, "message": "road bike, ask"}, headers=HX)
    assert client.get("/ops/traces").status_code == 403
    app: Any = client.app
    with Session(app.state.engine) as session:
        accounts.grant_role(session, "buyer@example.com", "admin")
    listing_page = client.get("/ops/traces")
    assert listing_page.status_code == 200 and "road bike, ask" in listing_page.text
    assert "stripped 1" in listing_page.text
    trace_id = re.search(r'href="/ops/traces/([0-9a-f]{32})"', listing_page.text).group(1)  # type: ignore[union-attr]
    detail = client.get(f"/ops/traces/{trace_id}").text
    for name in (
        "assistant turn",
        "invoke_agent",
        "chat test-model",
        "execute_tool search_listings",
        "execute_tool draft_message",
    ):
        assert name in detail
    assert "max_price" in detail and "999999" in detail  # raw answer kept for ops
    assert client.get("/ops/traces/" + "0" * 32).status_code == 404

    tools_page = client.get("/ops/assistant/tools").text
    assert "price_stats" in tools_page
    r = client.post(
        "/ops/assistant/tools/draft_message", data={"csrf_token": token, "share_percent": "100"}
    )  # no 'enabled': off
    assert r.status_code == 200 and "assistant tool rollout" in r.text.lower()
    page = client.post(
        "/assistant", data={"csrf_token": token, "message": "bike, ask"}, headers=HX
    ).text
    assert "Confirm and send" not in page  # the tool is off: no draft
    assert client.get("/ops/assistant/evals").status_code == 200
