"""Tables of the buyer assistant: runs (traces) and their spans, pending messages, tool flags,
agent eval runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow


class PendingStatus:
    pending = "pending"
    sent = "sent"
    cancelled = "cancelled"


class PendingMessage(SQLModel, table=True):
    """A message the agent drafted; it reaches the seller only when the buyer confirms it."""

    __tablename__ = "assistant_pending_messages"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    listing_id: int = Field(foreign_key="listing.id", index=True, ondelete="CASCADE")
    body: str = Field(max_length=2000)
    status: str = Field(default=PendingStatus.pending, max_length=12, index=True)
    trace_id: str | None = Field(default=None, max_length=32, index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class TraceStatus:
    ok = "ok"
    error = "error"  # provider failure
    limit = "limit"  # rounds / tokens exceeded
    timeout = "timeout"
    running = "running"


class AgentTrace(SQLModel, table=True):
    """One assistant run (a buyer's turn or an eval scenario turn)."""

    __tablename__ = "assistant_traces"

    id: str = Field(primary_key=True, max_length=32)  # the OpenTelemetry trace id (hex)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    surface: str = Field(default="chat", max_length=16, index=True)  # chat | eval | cli
    conversation_id: str = Field(max_length=40, index=True)
    visitor_id: str | None = Field(default=None, max_length=64, index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    provider_spec: str = Field(max_length=300)
    model: str = Field(default="", max_length=120)
    instructions_hash: str = Field(default="", max_length=16)
    question: str = Field(sa_column=Column(Text, nullable=False))
    answer: str = Field(default="", sa_column=Column(Text, nullable=False))
    raw_answer: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=TraceStatus.running, max_length=12, index=True)
    error: str | None = Field(default=None, max_length=2000)
    tools_offered: list[str] | None = Field(default=None, sa_column=Column(JSON))
    cited_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    stripped_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    pending_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))
    history: list[Any] | None = Field(default=None, sa_column=Column(JSON))
    rounds: int = 0
    tool_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0


class AgentSpan(SQLModel, table=True):
    """One OpenTelemetry span of a run: the agent run, a model request or a tool call."""

    __tablename__ = "assistant_spans"

    trace_id: str = Field(
        primary_key=True, foreign_key="assistant_traces.id", max_length=32, ondelete="CASCADE"
    )
    span_id: str = Field(primary_key=True, max_length=16)
    parent_id: str | None = Field(default=None, max_length=16)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # turn | agent | chat | tool | other
    tool_name: str | None = Field(default=None, max_length=80, index=True)
    started_at: datetime
    latency_ms: float = 0.0
    status: str = Field(default="ok", max_length=12)
    error: str | None = Field(default=None, max_length=2000)
    model: str | None = Field(default=None, max_length=120)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    arguments: str | None = Field(default=None, sa_column=Column(Text))
    result: str | None = Field(default=None, sa_column=Column(Text))
    attributes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ToolFlag(SQLModel, table=True):
    """Rollout of one agent tool: on/off and the share of visitors it is offered to."""

    __tablename__ = "assistant_tool_flags"

    tool: str = Field(primary_key=True, max_length=80)
    enabled: bool = True
    traffic_share: float = 1.0  # 0..1; visitors in the share get the tool (sticky by visitor)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, max_length=254)


class AgentEvalRun(SQLModel, table=True):
    """One `trova assistant agent` run over the scenario files."""

    __tablename__ = "assistant_eval_runs"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    provider_spec: str = Field(max_length=300)
    scenarios: int = 0
    passed: int = 0
    failed: int = 0
    duration_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    results: list[Any] | None = Field(default=None, sa_column=Column(JSON))
