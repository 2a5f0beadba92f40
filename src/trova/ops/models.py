"""Tables of the ops console: hourly rollups, call outcomes, alerts, annotation queues.

The rollup is a SQLAlchemy Core table (many counter columns, written by INSERT … SELECT);
the rest are SQLModel tables. Every constraint is named (SQLite batch migrations need names).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from trova.ai.draft import DRAFT_FIELDS
from trova.db._time import utcnow

# Latency histogram upper bounds in ms (the last bucket is +Inf). Also the /metrics buckets.
LATENCY_BUCKETS_MS: tuple[int, ...] = (
    50,
    100,
    250,
    500,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10_000,
    15_000,
    20_000,
    30_000,
    60_000,
)
HIST_COLUMNS: tuple[str, ...] = tuple(f"lat_{i:02d}" for i in range(len(LATENCY_BUCKETS_MS) + 1))
FIELDS: tuple[str, ...] = (
    DRAFT_FIELDS  # title, description, category, condition, brand, color, price
)
DIMENSIONS: tuple[str, ...] = (
    "provider",
    "model",
    "prompt_name",
    "prompt_version",
    "experiment",
    "variant",
)

# One row per hour × provider × model × prompt × experiment × variant. Empty strings, not NULLs,
# in the dimensions so the primary key holds (NULLs never compare equal).
rollup_hourly = Table(
    "ops_rollup_hourly",
    SQLModel.metadata,
    Column("bucket", UTCDateTime(), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("model", String(120), nullable=False),
    Column("prompt_name", String(80), nullable=False),
    Column("prompt_version", String(40), nullable=False),
    Column("experiment", String(80), nullable=False),
    Column("variant", String(80), nullable=False),
    Column("n", Integer, nullable=False),
    Column("n_ok", Integer, nullable=False),
    Column("n_invalid", Integer, nullable=False),
    Column("n_error", Integer, nullable=False),
    Column("n_timeout", Integer, nullable=False),
    Column("n_fallback", Integer, nullable=False),
    Column("tokens_in", BigInteger, nullable=False),
    Column("tokens_out", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_sum_ms", BigInteger, nullable=False),
    *(Column(name, Integer, nullable=False) for name in HIST_COLUMNS),
    Column("n_published", Integer, nullable=False),
    *(Column(f"sug_{f}", Integer, nullable=False) for f in FIELDS),
    *(Column(f"acc_{f}", Integer, nullable=False) for f in FIELDS),
    Column("thumbs_up", Integer, nullable=False),
    Column("thumbs_down", Integer, nullable=False),
    PrimaryKeyConstraint("bucket", *DIMENSIONS, name="pk_ops_rollup_hourly"),
)


class CallOutcome(SQLModel, table=True):
    """What the seller published from an AI call: per field accepted / edited / added / cleared.

    Written by the refresher when a listing with an ai_call_id is published; the dashboard's
    acceptance chart and the inspector's "edited fields" filter read it.
    """

    __tablename__ = "ops_call_outcomes"

    ai_call_id: str = Field(
        primary_key=True, max_length=36, foreign_key="ai_calls.id", ondelete="CASCADE"
    )
    listing_id: int = Field(index=True)
    call_created_at: datetime = Field(index=True)
    published_at: datetime = Field(index=True)
    n_suggested: int = 0  # fields the AI filled
    n_edited: int = 0  # of those, changed or cleared by the seller
    st_title: str | None = Field(default=None, max_length=8)
    st_description: str | None = Field(default=None, max_length=8)
    st_category: str | None = Field(default=None, max_length=8)
    st_condition: str | None = Field(default=None, max_length=8)
    st_brand: str | None = Field(default=None, max_length=8)
    st_color: str | None = Field(default=None, max_length=8)
    st_price: str | None = Field(default=None, max_length=8)


class OpsState(SQLModel, table=True):
    """Watermarks of the background refresher (how far rollups/outcomes are computed)."""

    __tablename__ = "ops_state"

    key: str = Field(primary_key=True, max_length=40)
    at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- alerts


class AlertRule(SQLModel, table=True):
    """A threshold over a window, e.g. error_rate > 0.05 over 15 minutes."""

    __tablename__ = "ops_alert_rules"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    metric: str = Field(max_length=40)
    op: str = Field(default=">", max_length=2)
    threshold: float
    window_minutes: int = 15
    min_calls: int = 20  # below this many calls in the window the rule does not judge
    provider: str | None = Field(default=None, max_length=40)
    model: str | None = Field(default=None, max_length=120)
    webhook_url: str | None = Field(default=None, max_length=500)
    enabled: bool = True
    state: str = Field(default="ok", max_length=12)  # ok | firing | no_data
    last_value: float | None = None
    last_evaluated_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AlertEvent(SQLModel, table=True):
    """A state change of a rule: it started firing, or it resolved."""

    __tablename__ = "ops_alert_events"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="ops_alert_rules.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=12)  # firing | resolved
    value: float | None = None
    message: str = Field(max_length=500)
    at: datetime = Field(default_factory=utcnow, index=True)
    notified: str | None = Field(default=None, max_length=200)  # webhook outcome


# ---------------------------------------------------------------- annotation


class AnnotationQueue(SQLModel, table=True):
    """Calls sampled by a rule for people to judge; the source of new eval cases."""

    __tablename__ = "ops_annotation_queues"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    description: str = Field(default="", max_length=500)
    rule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    daily_quota: int = 50
    overlap: int = 1  # annotators per call (2 measures agreement)
    sampled_until: datetime | None = None  # calls (or outcomes) up to here were considered
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class QueueItem(SQLModel, table=True):
    """One call in a queue. A call is in a queue at most once."""

    __tablename__ = "ops_queue_items"
    __table_args__ = (
        UniqueConstraint("queue_id", "ai_call_id", name="uq_ops_queue_items_queue_call"),
    )

    id: int | None = Field(default=None, primary_key=True)
    queue_id: int = Field(foreign_key="ops_annotation_queues.id", index=True, ondelete="CASCADE")
    ai_call_id: str = Field(max_length=36, foreign_key="ai_calls.id", index=True)
    reason: str = Field(default="rule", max_length=40)  # rule | manual
    added_by: int | None = Field(default=None, foreign_key="user.id")
    added_at: datetime = Field(default_factory=utcnow, index=True)


class Annotation(SQLModel, table=True):
    """One annotator's verdicts on one queued call: per field correct/wrong + corrected value."""

    __tablename__ = "ops_annotations"
    __table_args__ = (
        UniqueConstraint("item_id", "annotator_id", name="uq_ops_annotations_item_annotator"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="ops_queue_items.id", index=True, ondelete="CASCADE")
    annotator_id: int = Field(foreign_key="user.id", index=True)
    # {"title": {"verdict": "correct"|"wrong", "value": ...}, ...}; empty when skipped
    verdicts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    skipped: bool = False
    note: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Promotion(SQLModel, table=True):
    """Annotated calls of a queue added to an eval dataset as a new version."""

    __tablename__ = "ops_promotions"

    id: int | None = Field(default=None, primary_key=True)
    queue_id: int = Field(foreign_key="ops_annotation_queues.id", index=True, ondelete="CASCADE")
    dataset: str = Field(max_length=80)
    dataset_version: str = Field(max_length=80)
    n_cases: int = 0
    n_conflicts: int = 0  # calls left out because two annotators disagreed
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class PromotedCase(SQLModel, table=True):
    """Lineage: which call (and annotations) became which dataset case."""

    __tablename__ = "ops_promoted_cases"
    __table_args__ = (
        UniqueConstraint("dataset", "ai_call_id", name="uq_ops_promoted_cases_dataset_call"),
    )

    id: int | None = Field(default=None, primary_key=True)
    promotion_id: int = Field(foreign_key="ops_promotions.id", index=True, ondelete="CASCADE")
    dataset: str = Field(max_length=80)
    ai_call_id: str = Field(max_length=36, foreign_key="ai_calls.id", index=True)
    item_id: int = Field(foreign_key="ops_queue_items.id")
    case_id: str = Field(max_length=80)
    annotation_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
