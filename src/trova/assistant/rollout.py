"""Tool rollout: each agent tool has an enabled flag and a traffic share.

A visitor inside a tool's share keeps getting it (sticky): the bucket is issue D's experiment
bucket (sha256 of a salt and the unit, trova.rollout.assignment.bucket) with the tool name as the
salt, so raising the share from 10% to 50% keeps the first 10% in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from trova.assistant.models import ToolFlag
from trova.db._time import utcnow
from trova.rollout.assignment import BUCKETS
from trova.rollout.assignment import bucket as experiment_bucket

TOOL_NAMES: tuple[str, ...] = ("search_listings", "get_listing", "price_stats", "draft_message")


class UnknownTool(ValueError):
    """A tool name that the assistant does not have."""


@dataclass(frozen=True)
class ToolState:
    tool: str
    enabled: bool
    traffic_share: float
    updated_by: str | None = None

    def offered_to(self, unit: str) -> bool:
        """Whether the visitor (unit) gets this tool."""
        if not self.enabled or self.traffic_share <= 0:
            return False
        return self.traffic_share >= 1 or bucket(self.tool, unit) < self.traffic_share


def bucket(tool: str, unit: str) -> float:
    """A stable number in [0, 1) for (tool, unit): the same visitor lands in the same place."""
    return experiment_bucket(f"assistant-tool:{tool}", unit) / BUCKETS


def tool_states(session: Session) -> list[ToolState]:
    """Every tool with its flag (a tool without a row is on for everyone)."""
    rows = {row.tool: row for row in session.exec(select(ToolFlag))}
    out = []
    for name in TOOL_NAMES:
        row = rows.get(name)
        if row is None:
            out.append(ToolState(name, True, 1.0))
        else:
            out.append(ToolState(name, row.enabled, row.traffic_share, row.updated_by))
    return out


def offered_tools(session: Session, unit: str) -> set[str]:
    """The tools this visitor gets now."""
    return {state.tool for state in tool_states(session) if state.offered_to(unit)}


def set_tool(
    session: Session,
    tool: str,
    *,
    enabled: bool | None = None,
    traffic_share: float | None = None,
    by: str | None = None,
) -> ToolState:
    """Turn a tool on/off or change its share (0..1)."""
    if tool not in TOOL_NAMES:
        raise UnknownTool(f"No tool named {tool!r}: use one of {', '.join(TOOL_NAMES)}.")
    if traffic_share is not None and not 0 <= traffic_share <= 1:
        raise ValueError("The traffic share is a fraction between 0 and 1 (e.g. 0.25 for 25%).")
    row = session.get(ToolFlag, tool) or ToolFlag(tool=tool)
    if enabled is not None:
        row.enabled = enabled
    if traffic_share is not None:
        row.traffic_share = traffic_share
    row.updated_at = utcnow()
    row.updated_by = by
    session.add(row)
    session.commit()
    return ToolState(row.tool, row.enabled, row.traffic_share, row.updated_by)
