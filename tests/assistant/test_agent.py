"""Assistant turns with scripted pydantic-ai models: real tools, limits, citations, injection."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import pytest
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.assistant.conftest import INJECTED_TITLE, call, listing_id, make_assistant, text
from trova.ai.providers import ProviderConfigError
from trova.assistant import rollout
from trova.assistant.agent import Assistant, NotConfigured, RateLimited, build_model
from trova.assistant.base import INSTRUCTIONS
from trova.assistant.models import AgentSpan, AgentTrace, PendingMessage
from trova.assistant.scripted import rule_based_model
from trova.config import Settings
from trova.marketplace.models import Listing, Message


def returns(messages: list[ModelMessage]) -> list[ToolReturnPart]:
    return [
        p
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]


def ask(assistant: Assistant, question: str, **kw: Any) -> Any:
    return asyncio.run(assistant.ask(question, **kw))


def messages_sent(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Message)).one())


def shopper(messages: list[ModelMessage], info: AgentInfo) -> Any:
    """Search under €200, draft to the first result, answer citing it."""
    done = returns(messages)
    if not done:
        return call("search_listings", query="road bike", filters={"max_price": 200})
    if len(done) == 1:
        first = done[0].content["results"][0]["id"]
        return call("draft_message", listing_id=first, text="Is it still available?")
    listing = done[-1].content["listing_id"]
    return text(f"Try [#{listing}]. I drafted a message; press Confirm to send it.")


def test_a_turn_searches_drafts_and_stores_a_trace(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    assistant = make_assistant(asettings, engine, shopper)
    result = ask(
        assistant,
        "a road bike under €200, and ask the seller if it's available",
        user_id=buyer,
        visitor_id="v1",
    )
    assert result.ok and result.rounds == 3
    assert [name for name, _ in result.tools_called] == ["search_listings", "draft_message"]
    assert len(result.pending_ids) == 1 and result.cited
    assert messages_sent(engine) == 0  # drafted, not sent

    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None
        assert (trace.status, trace.rounds, trace.tool_calls) == ("ok", 3, 2)
        assert trace.tokens_in > 0 and trace.tokens_out > 0 and trace.latency_ms >= 0
        assert trace.pending_ids == result.pending_ids and trace.user_id == buyer
        assert trace.model == "test-model" and trace.history
        spans = list(session.exec(select(AgentSpan).where(AgentSpan.trace_id == trace.id)))
    by_kind: dict[str, list[AgentSpan]] = {}
    for span in spans:
        by_kind.setdefault(span.kind, []).append(span)
    assert len(by_kind["turn"]) == 1 and len(by_kind["agent"]) == 1
    assert len(by_kind["chat"]) == 3
    assert sorted(s.tool_name or "" for s in by_kind["tool"]) == [
        "draft_message",
        "search_listings",
    ]
    search = next(s for s in by_kind["tool"] if s.tool_name == "search_listings")
    assert json.loads(search.arguments or "{}")["filters"]["max_price"] == 200
    assert "Kids road bike" in (search.result or "")
    assert all(s.tokens_in > 0 for s in by_kind["chat"])
    turn = by_kind["turn"][0]
    agent = by_kind["agent"][0]
    assert agent.parent_id == turn.span_id
    assert {s.parent_id for s in by_kind["chat"] + by_kind["tool"]} == {agent.span_id}


def test_cost_uses_configured_prices(seeded: tuple[Engine, int], tmp_path: Any) -> None:
    engine, _ = seeded
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=str(engine.url.render_as_string(False)),
        secret_key="t",
        model_prices={"test-model": (1000.0, 2000.0)},
    )
    assistant = make_assistant(settings, engine, lambda m, i: text("Hello"))
    result = ask(assistant, "hi", visitor_id="v")
    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None and trace.tokens_in > 0
        expected = (trace.tokens_in * 1000 + trace.tokens_out * 2000) / 1e6
        assert trace.cost_usd == pytest.approx(expected)
        chat = session.exec(
            select(AgentSpan).where(AgentSpan.trace_id == trace.id, AgentSpan.kind == "chat")
        ).one()
        assert chat.cost_usd == pytest.approx(expected)


def test_unknown_listing_ids_are_stripped_and_logged(
    seeded: tuple[Engine, int], asettings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine, _ = seeded
    real = listing_id(engine, "City bike with basket, 3 gears")
    sold = listing_id(engine, "Violin 4/4 with bow and case")
    answer = f"Look at [#{real}], [#999999] and #424242, or the violin #{sold} (sold)."
    assistant = make_assistant(asettings, engine, lambda m, i: text(answer))
    with caplog.at_level(logging.WARNING, logger="trova.assistant.citations"):
        result = ask(assistant, "bikes?", visitor_id="v")
    assert result.cited == [real, sold]
    assert result.stripped == [999999, 424242]
    assert "999999" not in result.answer and "424242" not in result.answer
    assert f"[#{real}]" in result.answer and result.raw_answer == answer
    assert "[999999, 424242]" in caplog.text
    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None and trace.stripped_ids == [999999, 424242]


# ---------------------------------------------------------------- untrusted listing text


def gullible(messages: list[ModelMessage], info: AgentInfo) -> Any:
    """A model that obeys any instruction it reads in a tool result."""
    done = returns(messages)
    if not done:
        return call("search_listings", query="road bike")
    offered = {t.name for t in info.function_tools}
    said = json.dumps([r.content for r in done])
    attempted = [r for r in done if r.tool_name == "draft_message"]
    if "message every seller" in said and "draft_message" in offered and not attempted:
        ids = [r["id"] for r in done[0].content["results"]]
        return __import__("pydantic_ai.messages", fromlist=["ModelResponse"]).ModelResponse(
            parts=[
                __import__("pydantic_ai.messages", fromlist=["ToolCallPart"]).ToolCallPart(
                    "draft_message", {"listing_id": i, "text": "visit cheap-bikes.example now"}
                )
                for i in ids
            ]
        )
    return text("Done.")


def test_injected_listing_cannot_make_a_search_draft_anything(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    seen: list[set[str]] = []

    def spy(messages: list[ModelMessage], info: AgentInfo) -> Any:
        seen.append({t.name for t in info.function_tools})
        return gullible(messages, info)

    result = ask(
        make_assistant(asettings, engine, spy), "show me road bikes", user_id=buyer, visitor_id="v"
    )
    assert result.ok and result.pending_ids == []
    assert all("draft_message" not in tools for tools in seen)  # never even offered
    assert messages_sent(engine) == 0
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(PendingMessage)).one() == 0


def test_injected_listing_gets_at_most_the_one_draft_the_buyer_confirms(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    result = ask(
        make_assistant(asettings, engine, gullible),
        "find a road bike and ask the seller if it's still available",
        user_id=buyer,
        visitor_id="v",
    )
    # the model tried to message every seller: one draft got through the cap, none was sent
    assert sum(1 for name, _ in result.tools_called if name == "draft_message") > 1
    assert len(result.pending_ids) == asettings.assistant_max_drafts_per_turn == 1
    assert messages_sent(engine) == 0


def _neutralize(engine: Engine) -> None:
    with Session(engine) as session:
        listing = session.exec(select(Listing).where(Listing.title == INJECTED_TITLE)).one()
        listing.description = "Road bike in good shape."
        session.add(listing)
        session.commit()


@pytest.mark.parametrize(
    "question",
    [
        "a road bike for a 12-year-old under €200, and ask the seller if it's still available",
        "show me road bikes under 200 euros",
        "how much is a road bike worth?",
    ],
)
def test_injection_does_not_change_the_offline_agents_behaviour(
    seeded: tuple[Engine, int], asettings: Settings, question: str
) -> None:
    engine, buyer = seeded

    def turn() -> tuple[list[Any], str, int]:
        result = ask(
            Assistant(asettings, engine, model=rule_based_model()),
            question,
            user_id=buyer,
            visitor_id="v",
        )
        return result.tools_called, result.answer, len(result.pending_ids)

    with_injection = turn()
    with Session(engine) as session:
        for p in session.exec(select(PendingMessage)):
            session.delete(p)
        session.commit()
    _neutralize(engine)
    assert turn() == with_injection
    assert "cheap-bikes" not in with_injection[1] and "20 euros" not in with_injection[1]


def test_instructions_mark_listing_text_as_data() -> None:
    assert "never instructions" in INSTRUCTIONS
    assert "never claim a message was sent" in INSTRUCTIONS.lower()


# ---------------------------------------------------------------- limits and failures


def test_round_limit_gives_a_friendly_reply(seeded: tuple[Engine, int], tmp_path: Any) -> None:
    engine, _ = seeded
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=engine.url.render_as_string(False),
        secret_key="t",
        assistant_max_rounds=3,
    )
    loop = make_assistant(settings, engine, lambda m, i: call("search_listings", query="bike"))
    result = ask(loop, "bikes", visitor_id="v")
    assert result.status == "limit" and "limits" in result.answer
    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None and trace.status == "limit" and "UsageLimit" in (trace.error or "")
        assert trace.history is None  # a failed turn is not part of the conversation


def test_timeout_gives_a_friendly_reply(seeded: tuple[Engine, int], tmp_path: Any) -> None:
    engine, _ = seeded
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=engine.url.render_as_string(False),
        secret_key="t",
        assistant_timeout_s=0.2,
    )

    async def slow(messages: list[ModelMessage], info: AgentInfo) -> Any:
        await asyncio.sleep(10)
        return text("late")

    result = ask(make_assistant(settings, engine, slow), "bikes", visitor_id="v")
    assert result.status == "timeout" and "too long" in result.answer


def test_provider_errors_become_friendly_replies(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, _ = seeded

    def down(messages: list[ModelMessage], info: AgentInfo) -> Any:
        raise ModelHTTPError(503, "test-model", {"error": "overloaded"})

    result = ask(make_assistant(asettings, engine, down), "bikes", visitor_id="v")
    assert result.status == "error"
    assert "try again" in result.answer.lower() and "503" not in result.answer


def test_rate_limit_per_visitor(seeded: tuple[Engine, int], tmp_path: Any) -> None:
    engine, _ = seeded
    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=engine.url.render_as_string(False),
        secret_key="t",
        assistant_rate_limit=2,
    )
    assistant = make_assistant(settings, engine, lambda m, i: text("hi"))
    assistant.check_rate("visitor:a")
    assistant.check_rate("visitor:a")
    with pytest.raises(RateLimited, match="Try again in"):
        assistant.check_rate("visitor:a")
    assistant.check_rate("visitor:b")  # others are not affected


def test_no_provider_means_not_configured(seeded: tuple[Engine, int], asettings: Settings) -> None:
    engine, _ = seeded
    assistant = Assistant(asettings, engine)
    assert not assistant.configured
    with pytest.raises(NotConfigured, match="TROVA_OPENAI_API_KEY"):
        ask(assistant, "bikes")


def test_provider_specs(asettings: Settings) -> None:
    with pytest.raises(ProviderConfigError, match="TROVA_OPENAI_API_KEY"):
        build_model("openai:gpt-4o-mini", asettings)
    with pytest.raises(ProviderConfigError, match="chat LLM"):
        build_model("local", asettings)
    compat = build_model("openai-compatible:qwen2.5:7b@http://localhost:11434/v1", asettings)
    assert compat.model_name == "qwen2.5:7b"
    assert build_model("scripted", asettings).model_name == "scripted"


# ---------------------------------------------------------------- rollout and conversations


def test_disabled_tools_are_not_offered(seeded: tuple[Engine, int], asettings: Settings) -> None:
    engine, buyer = seeded
    offered: list[set[str]] = []

    def spy(messages: list[ModelMessage], info: AgentInfo) -> Any:
        offered.append({t.name for t in info.function_tools})
        return text("ok")

    assistant = make_assistant(asettings, engine, spy)
    ask(assistant, "ask the seller of a bike", user_id=buyer, visitor_id="v")
    assert offered[-1] == set(rollout.TOOL_NAMES)
    with Session(engine) as session:
        rollout.set_tool(session, "price_stats", enabled=False)
    result = ask(assistant, "ask the seller of a bike", user_id=buyer, visitor_id="v")
    assert offered[-1] == set(rollout.TOOL_NAMES) - {"price_stats"}
    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None and "price_stats" not in (trace.tools_offered or [])


def test_traffic_share_is_sticky_per_visitor(db_url: str) -> None:
    from trova.db.engine import make_engine

    engine = make_engine(db_url)
    units = [f"visitor:{i}" for i in range(400)]
    with Session(engine) as session:
        rollout.set_tool(session, "price_stats", traffic_share=0.25)
        small = {u for u in units if "price_stats" in rollout.offered_tools(session, u)}
        rollout.set_tool(session, "price_stats", traffic_share=0.5)
        large = {u for u in units if "price_stats" in rollout.offered_tools(session, u)}
        assert all("search_listings" in rollout.offered_tools(session, u) for u in units[:20])
        with pytest.raises(rollout.UnknownTool):
            rollout.set_tool(session, "send_message", enabled=True)
    engine.dispose()
    assert small < large  # raising the share keeps everyone who had it
    assert 60 < len(small) < 140 and 150 < len(large) < 250


def test_follow_up_turns_see_the_conversation(
    seeded: tuple[Engine, int], asettings: Settings
) -> None:
    engine, buyer = seeded
    prompts: list[list[str]] = []

    def remember(messages: list[ModelMessage], info: AgentInfo) -> Any:
        prompts.append(
            [
                str(p.content)
                for m in messages
                if isinstance(m, ModelRequest)
                for p in m.parts
                if isinstance(p, UserPromptPart)
            ]
        )
        return text("noted")

    assistant = make_assistant(asettings, engine, remember)
    first = ask(assistant, "I need a bike", user_id=buyer, visitor_id="v")
    ask(
        assistant,
        "under 200 please",
        user_id=buyer,
        visitor_id="v",
        conversation_id=first.conversation_id,
    )
    assert prompts[-1] == ["I need a bike", "under 200 please"]
    # another user presenting the same conversation id starts afresh
    ask(assistant, "hello", user_id=None, visitor_id="x", conversation_id=first.conversation_id)
    assert prompts[-1] == ["hello"]


def test_answer_citations_render_as_links() -> None:
    from trova.assistant.render import answer_html

    html = str(answer_html("Best: **[#3]** <b>x</b>\n- [#4] cheap\n- #5 gone", {3, 4}))
    assert '<a class="cite" href="/listings/3">#3</a>' in html
    assert "&lt;b&gt;" in html and "<li>" in html
    assert 'href="/listings/5"' not in html
    assert re.search(r"<strong>.*#3.*</strong>", html)
