"""Reading stored traces: the list for the ops console and one trace as a span tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from trova.assistant.models import AgentSpan, AgentTrace


@dataclass
class TracePage:
    items: list[AgentTrace]
    total: int


def list_traces(
    session: Session,
    *,
    status: str | None = None,
    surface: str | None = None,
    conversation_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TracePage:
    where = []
    if status:
        where.append(col(AgentTrace.status) == status)
    if surface:
        where.append(col(AgentTrace.surface) == surface)
    if conversation_id:
        where.append(col(AgentTrace.conversation_id) == conversation_id)
    total = session.exec(select(func.count()).select_from(AgentTrace).where(*where)).one()
    stmt = (
        select(AgentTrace)
        .where(*where)
        .order_by(col(AgentTrace.created_at).desc(), col(AgentTrace.id))
        .offset(offset)
        .limit(limit)
    )
    return TracePage(list(session.exec(stmt)), int(total))


@dataclass
class SpanNode:
    span: AgentSpan
    depth: int
    offset_ms: float  # from the start of the trace


def span_tree(spans: Sequence[AgentSpan]) -> list[SpanNode]:
    """Spans in tree order (parents before children, siblings by start time), with depth."""
    if not spans:
        return []
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[AgentSpan]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: s.started_at)
    start = min(s.started_at for s in spans)
    out: list[SpanNode] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            offset = (span.started_at - start).total_seconds() * 1000
            out.append(SpanNode(span, depth, round(offset, 3)))
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return out


def get_trace(session: Session, trace_id: str) -> tuple[AgentTrace, list[SpanNode]] | None:
    trace = session.get(AgentTrace, trace_id)
    if trace is None:
        return None
    spans = list(session.exec(select(AgentSpan).where(AgentSpan.trace_id == trace_id)))
    return trace, span_tree(spans)
