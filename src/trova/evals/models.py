"""Tables of the evaluation room: versioned datasets (cases + images), runs and their results.

A dataset version is immutable and identified by the sha256 of its cases' content; images are
stored once by their own sha256 (`eval_images`), so a new version that adds three cases stores
three new images, not the whole set again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow


class EvalDataset(SQLModel, table=True):
    __tablename__ = "eval_datasets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    description: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class EvalDatasetVersion(SQLModel, table=True):
    """One immutable content state of a dataset (`starter@v2`, or by hash `starter@3f9a1c…`)."""

    __tablename__ = "eval_dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number", name="uq_eval_dataset_versions_number"),
    )

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cases' content
    dataset_id: int = Field(foreign_key="eval_datasets.id", index=True)
    number: int  # 1, 2, … per dataset
    parent_id: str | None = Field(
        default=None, foreign_key="eval_dataset_versions.id", max_length=64
    )
    created_at: datetime = Field(default_factory=utcnow)
    created_from: str = Field(max_length=500)  # "import:<path>", "append:<origin>", …
    note: str | None = Field(default=None, max_length=2000)
    case_count: int = 0


class EvalImage(SQLModel, table=True):
    __tablename__ = "eval_images"

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    media_type: str = Field(default="image/jpeg", max_length=40)
    width: int = 0
    height: int = 0


class EvalCase(SQLModel, table=True):
    """A case as it is in one version: photo, gold labels, criticality, source and lineage."""

    __tablename__ = "eval_cases"
    __table_args__ = (UniqueConstraint("version_id", "key", name="uq_eval_cases_version_key"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: str = Field(foreign_key="eval_dataset_versions.id", index=True, max_length=64)
    key: str = Field(max_length=120)
    case_hash: str = Field(max_length=64)
    image_sha256: str = Field(foreign_key="eval_images.sha256", max_length=64)
    gold: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    criticality: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    origin: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    added_in: str = Field(max_length=64)  # first version id holding this exact case


class EvalRun(SQLModel, table=True):
    """One evaluation of a provider + prompt on a dataset version, with its full lineage."""

    __tablename__ = "eval_runs"

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=20, index=True)
    label: str | None = Field(default=None, max_length=80, index=True)
    dataset_name: str = Field(max_length=80)
    dataset_version_id: str = Field(foreign_key="eval_dataset_versions.id", max_length=64)
    dataset_version_number: int = 0
    provider_spec: str = Field(max_length=300)
    provider: str = Field(max_length=40)
    model: str | None = Field(default=None, max_length=120)
    prompt_name: str = Field(max_length=80)
    prompt_version: str = Field(max_length=40)
    prompt_hash: str = Field(max_length=64)
    code_version: str | None = Field(default=None, max_length=80)  # git SHA (+ "-dirty")
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    concurrency: int = 1
    trials: int = 1
    n_cases: int = 0
    n_done: int = 0
    wall_s: float = 0.0
    cost_usd: float = 0.0
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    spread: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, max_length=2000)


class EvalResult(SQLModel, table=True):
    """What the provider answered for one case in one trial, and how it scored per field."""

    __tablename__ = "eval_results"
    __table_args__ = (
        UniqueConstraint("run_id", "case_key", "trial", name="uq_eval_results_case_trial"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="eval_runs.id", index=True, max_length=36)
    case_key: str = Field(max_length=120)
    trial: int = 0
    status: str = Field(max_length=12)  # ai_calls status: ok, invalid, error, timeout
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    flags: list[str] | None = Field(default=None, sa_column=Column(JSON))
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    latency_ms: int = 0
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 1
    model: str | None = Field(default=None, max_length=120)
    raw_output: str | None = None
    ai_call_id: str | None = Field(default=None, max_length=36)  # only for --live runs
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
