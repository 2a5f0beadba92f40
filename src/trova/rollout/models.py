"""Tables of the rollout room: experiments, their variants and ramps, exposures, funnel events,
and seller feedback (explicit thumbs, implicit field diffs).

Event and feedback rows keep plain ids of listings and users (no foreign keys): a deleted
listing must not be blocked by, or take with it, the history of the experiment it was part of.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow

SURFACE_PREFILL = "prefill"
OFF = "off"  # the provider spec of a no-AI variant: the form is shown empty


class ExperimentStatus(StrEnum):
    draft = "draft"
    running = "running"
    stopped = "stopped"


class VariantStatus(StrEnum):
    active = "active"
    paused = "paused"  # a guardrail breach (or an operator): its traffic goes to control


class EventType(StrEnum):
    create_started = "create_started"  # GET /sell
    photo_uploaded = "photo_uploaded"  # POST /sell made a draft listing
    exposure = "exposure"  # the flow reached step 2 under an experiment variant
    prefill_shown = "prefill_shown"  # the form was rendered from an AI call (ai_call_id)
    field_edited = "field_edited"  # the seller changed a field (client side)
    published = "published"
    abandoned = "abandoned"  # computed: no publish within the abandonment timeout


CLIENT_EVENTS = frozenset({EventType.field_edited})


class Experiment(SQLModel, table=True):
    """An A/B test on one surface, with its guardrail thresholds and analysis settings."""

    __tablename__ = "rollout_experiments"
    __table_args__ = (
        # At most one running experiment per surface, enforced by the database too.
        Index(
            "uq_rollout_experiments_running_surface",
            "surface",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True, index=True)
    description: str = Field(default="", max_length=1000)
    surface: str = Field(default=SURFACE_PREFILL, max_length=32)
    status: str = Field(default=ExperimentStatus.draft.value, max_length=12, index=True)
    # Hash seed: assignment is sha256(salt:unit); fixed at creation so a rename never reshuffles.
    salt: str = Field(max_length=80)
    min_effect: float = 0.05  # absolute publish-rate difference the test must be able to see
    alpha: float = 0.05
    power: float = 0.8
    # Guardrails over a sliding window of AI calls per variant (None: that check is off).
    max_error_rate: float | None = 0.2
    max_empty_rate: float | None = 0.3
    max_latency_p95_ms: int | None = 15_000
    guardrail_window_s: int = 3600
    guardrail_min_calls: int = 20
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    stopped_at: datetime | None = None


class Variant(SQLModel, table=True):
    """One arm: a provider chain + prompt reference, or `off` (no AI)."""

    __tablename__ = "rollout_variants"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name", name="uq_rollout_variants_experiment_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="rollout_experiments.id", index=True)
    name: str = Field(max_length=80)
    position: int = 0  # order of the hash buckets
    provider: str = Field(max_length=300)  # "off", "local", "openai:gpt-4o-mini -> local", …
    prompt: str | None = Field(default=None, max_length=120)  # "extract_listing@v2"
    is_control: bool = False
    weight: float = 0.0  # percent of new units, as configured (ramps change it)
    status: str = Field(default=VariantStatus.active.value, max_length=12)
    paused_reason: str | None = Field(default=None, max_length=500)
    paused_at: datetime | None = None
    resumed_at: datetime | None = None  # guardrail windows start here after a resume


class Ramp(SQLModel, table=True):
    """The allocation history: every start, ramp, pause, resume and stop, with why.

    `allocation` is the *effective* split at that moment (a paused arm's share counted under
    control), which is what the sample-ratio-mismatch check expects new units to follow.
    """

    __tablename__ = "rollout_ramps"

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="rollout_experiments.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    action: str = Field(max_length=20)  # start | ramp | pause | resume | stop
    allocation: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    reason: str = Field(default="", max_length=500)


class Exposure(SQLModel, table=True):
    """A unit's first assignment in an experiment: written once, sticky forever after."""

    __tablename__ = "rollout_exposures"
    __table_args__ = (
        UniqueConstraint("experiment_id", "unit_id", name="uq_rollout_exposures_experiment_unit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="rollout_experiments.id", index=True)
    unit_id: str = Field(max_length=80)
    variant: str = Field(max_length=80)
    hashed_variant: str = Field(max_length=80)  # differs from `variant` if it was paused then
    at: datetime = Field(default_factory=utcnow)
    seller_id: int | None = None
    visitor_id: str | None = Field(default=None, max_length=64)
    simulated: bool = False


class Event(SQLModel, table=True):
    """One funnel event. A flow is one pass through the create form (GET /sell → publish)."""

    __tablename__ = "rollout_events"
    __table_args__ = (Index("ix_rollout_events_flow_type", "flow_id", "type"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    type: str = Field(max_length=24, index=True)
    flow_id: str | None = Field(default=None, max_length=32)
    unit_id: str | None = Field(default=None, max_length=80)
    seller_id: int | None = None
    visitor_id: str | None = Field(default=None, max_length=64)
    listing_id: int | None = Field(default=None, index=True)
    experiment_id: int | None = Field(default=None, index=True)
    variant: str | None = Field(default=None, max_length=80)
    ai_call_id: str | None = Field(default=None, max_length=36)
    field: str | None = Field(default=None, max_length=40)
    props: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    simulated: bool = False


class Feedback(SQLModel, table=True):
    """Explicit feedback: thumbs up/down (+ comment) on a pre-filled form, per AI call."""

    __tablename__ = "rollout_feedback"
    __table_args__ = (
        UniqueConstraint("ai_call_id", "seller_id", name="uq_rollout_feedback_call_seller"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ai_call_id: str = Field(foreign_key="ai_calls.id", max_length=36, index=True)
    seller_id: int | None = None
    listing_id: int | None = None
    rating: int  # +1 up, -1 down
    comment: str | None = Field(default=None, max_length=1000)
    simulated: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FieldOutcome(StrEnum):
    accepted = "accepted"  # published as suggested
    edited = "edited"  # published with a different value
    cleared = "cleared"  # suggested, published empty
    added = "added"  # nothing suggested, the seller filled it


class FieldFeedback(SQLModel, table=True):
    """Implicit feedback: one row per field of a published listing vs its AI draft.

    Edited values are candidate ground truth for the eval set.
    """

    __tablename__ = "rollout_field_feedback"

    id: int | None = Field(default=None, primary_key=True)
    ai_call_id: str = Field(foreign_key="ai_calls.id", max_length=36, index=True)
    listing_id: int = Field(index=True)
    field: str = Field(max_length=40)
    outcome: str = Field(max_length=12)
    ai_value: str | None = Field(default=None, max_length=4000)
    final_value: str | None = Field(default=None, max_length=4000)
    distance: int | None = None  # Levenshtein distance (text fields)
    similarity: float | None = None  # 0–1 (text: normalized Levenshtein; price: 1 − rel. change)
    simulated: bool = False
    created_at: datetime = Field(default_factory=utcnow)
