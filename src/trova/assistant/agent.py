"""The buyer assistant: a pydantic-ai agent over Trova's tools, with limits, a citation
post-check, rollout of tools and a stored trace of every turn."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import Agent
from pydantic_ai import exceptions as exc
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    UserPromptPart,
)
from pydantic_ai.models import Model
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.usage import UsageLimits
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.accounts.ratelimit import SlidingWindowLimiter
from trova.assistant import rollout
from trova.assistant.base import (
    INSTRUCTIONS,
    INSTRUCTIONS_HASH,
    MAX_QUESTION,
    SETUP_HINT,
    NotConfigured,
    RateLimited,
    provider_spec,
)
from trova.assistant.citations import post_check
from trova.assistant.export import cost_usd, make_tracer_provider
from trova.assistant.models import AgentTrace, TraceStatus
from trova.assistant.tools import TurnDeps, agent_tools, wants_contact
from trova.config import Settings

log = logging.getLogger(__name__)


def build_model(spec: str, settings: Settings) -> Model:
    """A pydantic-ai model for a provider spec (same specs and keys as the prefill)."""
    from trova.ai.providers import ProviderConfigError, get_provider
    from trova.ai.providers.llm import LLMProvider

    if spec == "scripted":
        from trova.assistant.scripted import rule_based_model

        return rule_based_model()
    provider = get_provider(spec, settings)
    if not isinstance(provider, LLMProvider):
        raise ProviderConfigError(
            f"The assistant needs a chat LLM, not {spec!r}: use openai:<model>, "
            "anthropic:<model>, openai-compatible:<model>@<url> or scripted."
        )
    model: Model = provider._build_model()
    return model


@dataclass
class TurnResult:
    trace_id: str
    conversation_id: str
    answer: str
    status: str = TraceStatus.ok
    cited: list[int] = field(default_factory=list)
    stripped: list[int] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)
    tools_called: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rounds: int = 0
    raw_answer: str = ""

    @property
    def ok(self) -> bool:
        return self.status == TraceStatus.ok


def friendly_error(error: BaseException) -> tuple[str, str]:
    """(trace status, the sentence the buyer sees) for a failed run."""
    if isinstance(error, exc.UsageLimitExceeded):
        return TraceStatus.limit, (
            "I couldn't finish that within my limits for one question. "
            "Try asking for something more specific."
        )
    if isinstance(error, exc.RunTimedOut | TimeoutError | exc.ModelRequestTimeout):
        return TraceStatus.timeout, (
            "That took me too long, sorry. Please try again, or ask something more specific."
        )
    code = getattr(error, "status_code", None) if isinstance(error, exc.ModelHTTPError) else None
    busy = code is not None and (code == 429 or code >= 500)
    if busy or isinstance(error, exc.ModelRateLimitError | exc.ModelUnavailableError):
        return TraceStatus.error, (
            "The assistant's AI service is busy right now. Please try again in a minute."
        )
    if code in (401, 403) or isinstance(error, exc.ModelAuthenticationError):
        return TraceStatus.error, (
            "The assistant's AI service rejected Trova's API key; an admin needs to check it."
        )
    if isinstance(error, exc.ModelAPIError):
        return TraceStatus.error, (
            "The assistant's AI service is unavailable right now. Search and browse still work."
        )
    if isinstance(error, exc.UnexpectedModelBehavior):
        return TraceStatus.error, "I got confused by that request. Could you rephrase it?"
    return TraceStatus.error, "Something went wrong in the assistant. Please try again."


def trim_history(messages: list[ModelMessage], keep: int) -> list[ModelMessage]:
    """The last turns that fit in `keep` messages, cut only where a user turn starts (a tool
    result is never separated from its call)."""
    if keep <= 0:
        return []
    starts = [
        i
        for i, m in enumerate(messages)
        if isinstance(m, ModelRequest) and any(isinstance(p, UserPromptPart) for p in m.parts)
    ]
    for start in starts:
        if len(messages) - start <= keep:
            return messages[start:]
    return []


class Assistant:
    """Runs buyer turns. One per app (or per eval run); thread- and task-safe."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        model: Model | None = None,
        spec: str | None = None,
        trace_engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.trace_engine = trace_engine or engine
        self.spec = spec or (
            model.model_name if model is not None else provider_spec(settings) or ""
        )
        self._model = model
        self.limiter = SlidingWindowLimiter(settings.assistant_rate_limit, 3600)
        self.tracer_provider = make_tracer_provider(self.trace_engine, settings)
        self.tracer = self.tracer_provider.get_tracer("trova.assistant")
        self._agent: Agent[TurnDeps, str] | None = None

    @property
    def configured(self) -> bool:
        return self._model is not None or bool(self.spec)

    def model(self) -> Model:
        """The pydantic-ai model; NotConfigured (with the reason) when there is none."""
        if self._model is None:
            from trova.ai.providers import ProviderConfigError

            if not self.spec:
                raise NotConfigured(SETUP_HINT)
            try:
                self._model = build_model(self.spec, self.settings)
            except ProviderConfigError as exc:
                raise NotConfigured(str(exc)) from None
        return self._model

    def agent(self) -> Agent[TurnDeps, str]:
        if self._agent is None:
            self._agent = Agent(
                self.model(),
                deps_type=TurnDeps,
                output_type=str,
                instructions=INSTRUCTIONS,
                tools=agent_tools(),
                name="trova_buyer_assistant",
                retries=1,
                capabilities=[
                    Instrumentation(
                        settings=InstrumentationSettings(
                            tracer_provider=self.tracer_provider,
                            include_binary_content=False,
                        )
                    )
                ],
            )
        return self._agent

    def check_rate(self, visitor_key: str) -> None:
        """RateLimited when the visitor used up their turns for the hour; else count one."""
        wait = self.limiter.blocked_for(visitor_key)
        if wait > 0:
            raise RateLimited(wait)
        self.limiter.hit(visitor_key)

    def _history(
        self, session: Session, conversation_id: str, user_id: int | None, visitor_id: str | None
    ) -> tuple[list[ModelMessage], str | None]:
        stmt = (
            select(AgentTrace)
            .where(
                AgentTrace.conversation_id == conversation_id,
                col(AgentTrace.status) == TraceStatus.ok,
            )
            .order_by(col(AgentTrace.created_at).desc())
            .limit(1)
        )
        last = session.exec(stmt).first()
        if last is None or not last.history:
            return [], None
        if last.user_id != user_id or (user_id is None and last.visitor_id != visitor_id):
            return [], None  # someone else's conversation id: start afresh
        try:
            messages = ModelMessagesTypeAdapter.validate_python(last.history)
        except ValueError:
            log.warning("unreadable assistant history in trace %s", last.id)
            return [], None
        return messages, last.answer

    async def ask(
        self,
        question: str,
        *,
        conversation_id: str | None = None,
        user_id: int | None = None,
        visitor_id: str | None = None,
        surface: str = "chat",
    ) -> TurnResult:
        """One buyer turn: run the agent, post-check the answer, store the trace.

        Never raises for model trouble: the result carries a friendly answer and a status.
        Raises NotConfigured when no LLM is configured.
        """
        question = question.strip()[:MAX_QUESTION]
        conversation_id = conversation_id or uuid.uuid4().hex
        unit = f"user:{user_id}" if user_id is not None else f"visitor:{visitor_id or 'anon'}"
        agent = self.agent()
        # Traces written to another database (evals) cannot point at this database's users.
        trace_user = user_id if self.trace_engine is self.engine else None
        with Session(self.trace_engine) as session:
            history, previous_answer = self._history(
                session, conversation_id, trace_user, visitor_id
            )
        with Session(self.engine) as session:
            offered = rollout.offered_tools(session, unit)
        if user_id is None or not wants_contact(question, previous_answer):
            offered.discard("draft_message")
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            "assistant turn",
            attributes={
                "trova.kind": "turn",
                "trova.question": question,
                "trova.surface": surface,
                "trova.tools_offered": sorted(offered),
            },
        ) as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            trace = AgentTrace(
                id=trace_id,
                surface=surface,
                conversation_id=conversation_id,
                visitor_id=visitor_id,
                user_id=trace_user,
                provider_spec=self.spec[:300],
                model=getattr(self.model(), "model_name", "")[:120],
                instructions_hash=INSTRUCTIONS_HASH,
                question=question,
                tools_offered=sorted(offered),
            )
            with Session(self.trace_engine) as session:
                session.add(trace)
                session.commit()
            deps = TurnDeps(
                engine=self.engine,
                settings=self.settings,
                user_id=user_id,
                offered=frozenset(offered),
                trace_id=trace_id,
                max_drafts=self.settings.assistant_max_drafts_per_turn,
            )
            result = TurnResult(trace_id=trace_id, conversation_id=conversation_id, answer="")
            new_history: list[ModelMessage] | None = None
            usage = None
            error_text: str | None = None
            try:
                run = await agent.run(
                    question,
                    message_history=history or None,
                    deps=deps,
                    usage_limits=UsageLimits(
                        request_limit=self.settings.assistant_max_rounds,
                        total_tokens_limit=self.settings.assistant_max_turn_tokens,
                    ),
                    model_settings={
                        "max_tokens": self.settings.assistant_max_tokens,
                        "temperature": 0.2,
                        "timeout": self.settings.assistant_timeout_s,
                        "max_retries": 1,  # one SDK retry on 429/5xx; the run timeout bounds it
                    },
                    timeout=self.settings.assistant_timeout_s,
                )
                usage = run.usage
                result.raw_answer = run.output
                new_history = trim_history(
                    run.all_messages(), self.settings.assistant_history_messages
                )
                result.tools_called = _tool_calls(run.new_messages())
                with Session(self.engine) as session:
                    checked = post_check(session, run.output, trace_id=trace_id)
                result.answer, result.cited, result.stripped = (
                    checked.text,
                    checked.cited,
                    checked.stripped,
                )
            except Exception as error:  # every failure becomes a friendly reply
                result.status, result.answer = friendly_error(error)
                level = logging.WARNING if result.status != TraceStatus.error else logging.ERROR
                log.log(level, "assistant turn %s failed: %r", trace_id, error)
                error_text = f"{type(error).__name__}: {error}"[:2000]
                span.set_attribute("trova.error", error_text)
            result.pending_ids = list(deps.drafts)
            span.set_attribute("trova.answer", result.answer)
            span.set_attribute("trova.status", result.status)
            tokens_in = usage.input_tokens if usage else 0
            tokens_out = usage.output_tokens if usage else 0
            result.rounds = usage.requests if usage else 0
            with Session(self.trace_engine) as session:
                stored = session.get(AgentTrace, trace_id)
                assert stored is not None
                stored.status = result.status
                stored.error = error_text
                stored.answer = result.answer
                stored.raw_answer = result.raw_answer
                stored.cited_ids = result.cited
                stored.stripped_ids = result.stripped
                stored.pending_ids = result.pending_ids
                stored.rounds = result.rounds
                stored.tool_calls = usage.tool_calls if usage else len(result.tools_called)
                stored.tokens_in = tokens_in
                stored.tokens_out = tokens_out
                stored.cost_usd = cost_usd(self.settings, stored.model, tokens_in, tokens_out)
                stored.latency_ms = int((time.perf_counter() - started) * 1000)
                if new_history is not None:
                    stored.history = ModelMessagesTypeAdapter.dump_python(new_history, mode="json")
                session.add(stored)
                session.commit()
        return result

    def close(self) -> None:
        self.tracer_provider.shutdown()


def _tool_calls(messages: list[ModelMessage]) -> list[tuple[str, dict[str, Any]]]:
    from pydantic_ai.messages import ModelResponse, ToolCallPart

    calls = []
    for message in messages:
        if isinstance(message, ModelResponse):
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    calls.append((part.tool_name, part.args_as_dict()))
    return calls
