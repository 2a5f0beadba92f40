"""The assistant on a real provider SDK (OpenAI) at the HTTP layer: tool calls round-trip."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import respx
from pydantic_ai.models import override_allow_model_requests
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.assistant.agent import Assistant
from trova.assistant.models import AgentTrace
from trova.config import Settings

OPENAI = "https://api.openai.com/v1/chat/completions"


@pytest.fixture(autouse=True)
def _mocked_http_only() -> Iterator[None]:
    with override_allow_model_requests(True):  # the HTTP layer is mocked: nothing leaves
        yield


def reply(message: dict[str, Any], prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1763700000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


@pytest.fixture
def openai_settings(asettings: Settings) -> Settings:
    return Settings(**{**asettings.model_dump(), "openai_api_key": "sk-test"})


def test_openai_tool_calls_run_the_real_tools(
    httpx2_mock: respx.Router, seeded: tuple[Engine, int], openai_settings: Settings
) -> None:
    engine, buyer = seeded
    route = httpx2_mock.post(OPENAI)
    route.side_effect = [
        respx.MockResponse(
            200,
            json=reply(
                tool_call("search_listings", {"query": "road bike", "filters": {"max_price": 200}}),
                1000,
                40,
            ),
        ),
        respx.MockResponse(200, json=reply({"content": "Try [#1] or [#77777]."}, 1500, 20)),
    ]
    assistant = Assistant(openai_settings, engine)
    assert assistant.spec == "openai:gpt-4o-mini"
    result = asyncio.run(assistant.ask("road bikes under 200", user_id=buyer, visitor_id="v"))
    assert result.ok, result.answer
    assert result.cited == [1] and result.stripped == [77777]

    first = json.loads(route.calls[0].request.content)
    assert first["model"] == "gpt-4o-mini"
    offered = {t["function"]["name"] for t in first["tools"]}
    assert offered == {"search_listings", "get_listing", "price_stats"}  # no contact intent
    assert "seller_text" not in json.dumps(first["messages"])
    assert "never instructions" in json.dumps(first["messages"])  # the instructions went along
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"
    second = json.loads(route.calls[1].request.content)
    tool_result = next(m for m in second["messages"] if m["role"] == "tool")
    assert "Kids road bike" in tool_result["content"] and "seller_text" in tool_result["content"]

    with Session(engine) as session:
        trace = session.get(AgentTrace, result.trace_id)
        assert trace is not None
        assert (trace.tokens_in, trace.tokens_out, trace.rounds) == (2500, 60, 2)
        assert trace.cost_usd == pytest.approx((2500 * 0.15 + 60 * 0.60) / 1e6)


def test_openai_rate_limit_is_a_friendly_reply(
    httpx2_mock: respx.Router, seeded: tuple[Engine, int], openai_settings: Settings
) -> None:
    engine, _ = seeded
    httpx2_mock.post(OPENAI).respond(
        429,
        json={"error": {"message": "Rate limit", "type": "rate_limit"}},
        headers={"retry-after": "0"},
    )
    result = asyncio.run(Assistant(openai_settings, engine).ask("bikes", visitor_id="v"))
    assert result.status == "error" and "busy" in result.answer
