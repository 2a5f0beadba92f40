"""Offline models for the assistant, built on pydantic-ai's FunctionModel.

- `rule_based_model()`: the `scripted` provider. A small deterministic shopper that reads the
  buyer's words (never listing text), calls the real tools, reacts to their results (retries a
  search with fewer words, drafts a message when asked) and writes an answer citing listings.
  Demos and CI use it: no keys, no network.
- `replay_model(steps)`: replays a scenario's scripted steps (tool calls and a final answer),
  with `{tool.path}` placeholders filled from earlier tool results of the same turn.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from trova.assistant.tools import wants_contact

_PRICE_MAX = re.compile(
    r"(?:under|below|less than|max(?:imum)?|up to|at most|no more than|cheaper than|<|≤|"
    r"unter|bis|moins de|menos de|sotto)\s*(?:€|eur(?:os|o)?\s*)?(\d+(?:[.,]\d+)?)"
    r"\s*(?:€|eur(?:os|o)?)?",
    re.IGNORECASE,
)
_PRICE_MIN = re.compile(
    r"(?:over|above|more than|at least|min(?:imum)?|from)\s*(?:€|eur\s*)?(\d+(?:[.,]\d+)?)",
    re.IGNORECASE,
)
_CONTACT_CLAUSE = re.compile(
    r"(?:,?\s*\band\b\s*|[,;.]\s*|^)(?:please\s+)?(?:ask|message|contact|write|tell|email)\b.*$",
    re.IGNORECASE,
)
_PRICE_QUESTION = re.compile(
    r"\b(how much|what.{0,20}(?:price|worth|cost)|typical price|fair price|price range|"
    r"is .{1,40} a good price|worth)\b",
    re.IGNORECASE,
)
STOPWORDS = set(
    [
        "a",
        "an",
        "the",
        "for",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "our",
        "some",
        "any",
        "all",
        "please",
        "find",
        "show",
        "get",
        "need",
        "want",
        "looking",
        "look",
        "search",
        "buy",
        "buying",
        "something",
        "thing",
        "things",
        "one",
        "ones",
        "good",
        "nice",
        "cheap",
        "great",
        "best",
        "near",
        "top",
        "list",
        "year",
        "years",
        "old",
        "kid",
        "kids",
        "child",
        "children",
        "son",
        "daughter",
        "boy",
        "girl",
        "under",
        "below",
        "less",
        "than",
        "over",
        "above",
        "more",
        "most",
        "up",
        "max",
        "min",
        "maximum",
        "minimum",
        "eur",
        "euro",
        "euros",
        "price",
        "prices",
        "around",
        "about",
        "approx",
        "roughly",
        "can",
        "could",
        "would",
        "should",
        "will",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "if",
        "still",
        "available",
        "there",
        "here",
        "what",
        "which",
        "how",
        "much",
        "many",
        "also",
        "just",
        "really",
        "very",
        "too",
        "so",
        "ask",
        "seller",
        "sellers",
        "message",
        "contact",
        "write",
        "tell",
        "worth",
        "cost",
        "costs",
        "typical",
        "fair",
        "range",
        "pay",
        "paying",
        "much",
        "how",
        "what",
        "usually",
        "normally",
        "generally",
        "typically",
        "here",
    ]
)


def _last_prompt(messages: Sequence[ModelMessage]) -> tuple[str, int]:
    """The latest user prompt text and the index of its request."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content, index
    return "", 0


def _previous_answer(messages: Sequence[ModelMessage], before: int) -> str | None:
    for message in reversed(messages[:before]):
        if isinstance(message, ModelResponse):
            texts = [p.content for p in message.parts if isinstance(p, TextPart)]
            if texts:
                return "\n".join(texts)
    return None


def _returns(messages: Sequence[ModelMessage], start: int) -> list[tuple[str, Any]]:
    """(tool name, content) of every tool result since `start`, in order."""
    out = []
    for message in messages[start:]:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, ToolReturnPart):
                    content = part.content
                    if isinstance(content, str):
                        with contextlib.suppress(ValueError):
                            content = json.loads(content)
                    out.append((part.tool_name, content))
    return out


def _amount(text: str) -> float:
    return float(text.replace(",", "."))


def parse_request(question: str) -> dict[str, Any]:
    """Keywords and price limits from the buyer's words."""
    text = _CONTACT_CLAUSE.sub("", question) or question
    filters: dict[str, Any] = {}
    if match := _PRICE_MAX.search(text):
        filters["max_price"] = _amount(match.group(1))
        text = text.replace(match.group(0), " ")
    if match := _PRICE_MIN.search(text):
        filters["min_price"] = _amount(match.group(1))
        text = text.replace(match.group(0), " ")
    text = re.sub(r"\S*\d\S*", " ", text)  # "12-year-old", "24in", "€200"
    words = [w for w in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower()) if w not in STOPWORDS]
    words = [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words
    ]
    return {"words": words[:4], "filters": filters}


def _listing_line(item: dict[str, Any]) -> str:
    title = item.get("seller_text", {}).get("title", "")
    price = item.get("price_eur")
    price_text = f"€{price:,.0f}" if isinstance(price, int | float) else "no price"
    condition = (item.get("condition") or "").replace("_", " ")
    return f"- [#{item['id']}] {title} — {price_text}" + (f" ({condition})" if condition else "")


def _call(name: str, args: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(name, args)])


def rule_based(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """One step of the offline shopper (see the module docstring)."""
    offered = {tool.name for tool in info.function_tools}
    question, start = _last_prompt(messages)
    returns = _returns(messages, start)
    parsed = parse_request(question)
    words: list[str] = parsed["words"]
    searches = [content for name, content in returns if name == "search_listings"]
    drafts = [content for name, content in returns if name == "draft_message"]
    stats = [content for name, content in returns if name == "price_stats"]
    asks_price = bool(_PRICE_QUESTION.search(question))
    contact = wants_contact(question, _previous_answer(messages, start))

    if "search_listings" in offered and words:
        if not searches:
            return _call(
                "search_listings", {"query": " ".join(words), "filters": parsed["filters"]}
            )
        last = searches[-1]
        retry = isinstance(last, dict) and not last.get("results") and len(searches) < 2
        if retry and len(words) > 1:
            return _call("search_listings", {"query": words[-1], "filters": parsed["filters"]})
    if asks_price and "price_stats" in offered and not stats and words:
        return _call("price_stats", {"query": " ".join(words)})
    found: list[dict[str, Any]] = []
    for content in searches:
        if isinstance(content, dict) and content.get("results"):
            found = content["results"]
    if contact and found and "draft_message" in offered and not drafts:
        top = found[0]
        title = top.get("seller_text", {}).get("title", "your item")
        return _call(
            "draft_message",
            {"listing_id": top["id"], "text": f"Hi! Is your “{title}” still available?"},
        )
    return ModelResponse(parts=[TextPart(_answer(words, parsed["filters"], found, drafts, stats))])


def _answer(
    words: list[str],
    filters: dict[str, Any],
    found: list[dict[str, Any]],
    drafts: list[Any],
    stats: list[Any],
) -> str:
    lines: list[str] = []
    what = " ".join(words) or "that"
    limit = f" under €{filters['max_price']:,.0f}" if "max_price" in filters else ""
    if found:
        lines.append(f"I found {len(found)} listing(s) for “{what}”{limit}:")
        lines += [_listing_line(item) for item in found[:5]]
    elif words:
        lines.append(f"I couldn't find any listing for “{what}”{limit}. Try other words.")
    else:
        lines.append("Tell me what you are looking for, e.g. “a road bike under €200”.")
    for stat in stats:
        if isinstance(stat, dict) and "summary" in stat:
            lines.append(f"Prices: {stat['summary']} Median €{stat['median_eur']:,.0f}.")
    for draft in drafts:
        if isinstance(draft, dict) and "pending_message_id" in draft:
            lines.append(
                f"I drafted a message to the seller of [#{draft['listing_id']}]. "
                "It is not sent until you press Confirm below."
            )
        elif isinstance(draft, dict) and "error" in draft:
            lines.append(f"I couldn't draft the message: {draft['error']}")
    return "\n".join(lines)


def rule_based_model() -> FunctionModel:
    return FunctionModel(rule_based, model_name="scripted")


# ---------------------------------------------------------------- replayed scripts

_PLACEHOLDER = re.compile(r"\{([a-z_]+)((?:\.[\w-]+)*)\}")


def _lookup(returns: list[tuple[str, Any]], tool: str, path: str) -> Any:
    values = [content for name, content in returns if name == tool]
    if not values:
        raise LookupError(f"script refers to {tool} before it was called")
    value: Any = values[-1]
    for key in [k for k in path.split(".") if k]:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def fill(value: Any, returns: list[tuple[str, Any]]) -> Any:
    """Replace `{tool.path}` placeholders with values from this turn's tool results."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(returns, whole.group(1), whole.group(2))
        return _PLACEHOLDER.sub(lambda m: str(_lookup(returns, m.group(1), m.group(2))), value)
    if isinstance(value, dict):
        return {k: fill(v, returns) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, returns) for v in value]
    return value


def replay_model(turn_scripts: Sequence[Sequence[dict[str, Any]]]) -> FunctionModel:
    """Replays steps: `{"call": tool, "args": {...}}`, `{"calls": [...]}` or `{"answer": text}`.

    `turn_scripts[i]` is the script of the i-th user turn of the conversation.
    """

    def step(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        _, start = _last_prompt(messages)
        turn = sum(
            1
            for message in messages[: start + 1]
            if isinstance(message, ModelRequest)
            and any(isinstance(p, UserPromptPart) for p in message.parts)
        )
        script = list(turn_scripts[min(turn, len(turn_scripts)) - 1]) if turn_scripts else []
        done = sum(1 for message in messages[start:] if isinstance(message, ModelResponse))
        returns = _returns(messages, start)
        if done >= len(script):
            return ModelResponse(parts=[TextPart("(the script has no more steps)")])
        current = script[done]
        if "answer" in current:
            return ModelResponse(parts=[TextPart(str(fill(current["answer"], returns)))])
        calls = current.get("calls") or [current]
        return ModelResponse(
            parts=[
                ToolCallPart(str(c["call"]), fill(dict(c.get("args") or {}), returns))
                for c in calls
            ]
        )

    return FunctionModel(step, model_name="replay")
