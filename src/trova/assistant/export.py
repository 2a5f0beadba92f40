"""Trace export: pydantic-ai's OpenTelemetry spans (GenAI conventions), exported into Trova's DB.

Each Assistant owns a TracerProvider (never the global one) whose SimpleSpanProcessor hands every
finished span to `DBSpanExporter`, which writes one `assistant_spans` row: the model request
(`chat …`) with its messages, tokens and cost; the tool call (`execute_tool …`) with arguments and
result; the agent run; and Trova's own `assistant turn` span around it all, whose trace id is the
`assistant_traces` row id. OTLP export to a collector is optional (TROVA_ASSISTANT_OTLP_ENDPOINT).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import StatusCode
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.assistant.models import AgentSpan, AgentTrace
from trova.config import Settings

log = logging.getLogger(__name__)

MAX_TEXT = 60_000  # characters kept of one attribute (messages grow with the conversation)
_KIND = {"chat": "chat", "execute_tool": "tool", "invoke_agent": "agent"}
_MOVED = {
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "final_result",
    "pydantic_ai.all_messages",
    "logfire.json_schema",
    "model_request_parameters",
}


def cost_usd(settings: Settings, model: str | None, tokens_in: int, tokens_out: int) -> float:
    """Trova's configured price for a model; a dated name ("gpt-4o-mini-2024-07-18") matches
    its base name."""
    if not model:
        return 0.0
    prices = settings.model_prices
    name = model if model in prices else None
    if name is None:
        matches = [known for known in prices if model.startswith(known)]
        name = max(matches, key=len) if matches else None
    if name is None:
        return 0.0
    return settings.cost_usd(name, tokens_in, tokens_out)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…[truncated]"


def _when(ns: int | None) -> datetime:
    return datetime.fromtimestamp((ns or 0) / 1e9, tz=UTC)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def span_row(span: ReadableSpan, settings: Settings) -> AgentSpan:
    attrs: dict[str, Any] = dict(span.attributes or {})
    op = str(attrs.get("gen_ai.operation.name", ""))
    kind = str(attrs.get("trova.kind") or _KIND.get(op, "other"))
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    if kind == "agent":
        tokens_in = _int(attrs.get("gen_ai.aggregated_usage.input_tokens"))
        tokens_out = _int(attrs.get("gen_ai.aggregated_usage.output_tokens"))
        model = attrs.get("model_name") or model
    else:
        tokens_in = _int(attrs.get("gen_ai.usage.input_tokens"))
        tokens_out = _int(attrs.get("gen_ai.usage.output_tokens"))
    cost = cost_usd(settings, str(model) if model else None, tokens_in, tokens_out)
    if not cost and kind == "chat" and attrs.get("operation.cost") is not None:
        cost = float(attrs["operation.cost"])
    if kind == "tool":
        arguments, result = (
            attrs.get("gen_ai.tool.call.arguments"),
            attrs.get("gen_ai.tool.call.result"),
        )
    elif kind == "chat":
        arguments, result = attrs.get("gen_ai.input.messages"), attrs.get("gen_ai.output.messages")
    elif kind == "agent":
        arguments, result = attrs.get("pydantic_ai.all_messages"), attrs.get("final_result")
    else:
        arguments, result = attrs.get("trova.question"), attrs.get("trova.answer")
    failed = span.status.status_code == StatusCode.ERROR
    ctx = span.get_span_context()
    assert ctx is not None
    return AgentSpan(
        trace_id=format(ctx.trace_id, "032x"),
        span_id=format(ctx.span_id, "016x"),
        parent_id=format(span.parent.span_id, "016x") if span.parent else None,
        name=span.name[:200],
        kind=kind,
        tool_name=str(attrs["gen_ai.tool.name"])[:80] if "gen_ai.tool.name" in attrs else None,
        started_at=_when(span.start_time),
        latency_ms=round(((span.end_time or 0) - (span.start_time or 0)) / 1e6, 3),
        status="error" if failed else "ok",
        error=(span.status.description or "error")[:2000] if failed else None,
        model=str(model)[:120] if model else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost,
        arguments=_text(arguments),
        result=_text(result),
        attributes={
            k: (
                v
                if isinstance(v, int | float | bool)
                else _text(list(v) if isinstance(v, tuple) else v)
            )
            for k, v in attrs.items()
            if k not in _MOVED
        },
    )


class DBSpanExporter(SpanExporter):
    """Writes finished spans of known traces into `assistant_spans`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [span_row(span, self.settings) for span in spans]
        if not rows:
            return SpanExportResult.SUCCESS
        try:
            with Session(self.engine) as session:
                known = set(
                    session.exec(
                        select(AgentTrace.id).where(
                            col(AgentTrace.id).in_({r.trace_id for r in rows})
                        )
                    )
                )
                for row in rows:
                    if row.trace_id in known:
                        session.merge(row)
                session.commit()
        except Exception:  # tracing must never break a buyer's turn
            log.exception("could not store %d assistant spans", len(rows))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _SecureIdGenerator(IdGenerator):
    """Trace/span ids from the OS's entropy: the SDK's default draws from the global `random`
    module, which any code may reseed, and trace ids are primary keys here."""

    def generate_span_id(self) -> int:
        return secrets.randbits(64) or 1

    def generate_trace_id(self) -> int:
        return secrets.randbits(128) or 1


def make_tracer_provider(engine: Engine, settings: Settings) -> TracerProvider:
    """A private provider: spans go to the DB (and to OTLP when configured)."""
    provider = TracerProvider(id_generator=_SecureIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(DBSpanExporter(engine, settings)))
    if settings.assistant_otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            log.warning(
                "TROVA_ASSISTANT_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
                "pip install opentelemetry-exporter-otlp-proto-http"
            )
        else:
            endpoint = settings.assistant_otlp_endpoint
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider
