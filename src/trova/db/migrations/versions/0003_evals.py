"""evals: datasets, versions, cases, images, runs, results

Revision ID: 0003_evals
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_evals"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("evals",)
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "eval_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=80), nullable=False),
        sa.Column("description", S(length=2000), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_datasets"),
        sa.UniqueConstraint("name", name="uq_eval_datasets_name"),
    )
    op.create_table(
        "eval_images",
        sa.Column("sha256", S(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", S(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_eval_images"),
    )
    op.create_table(
        "eval_dataset_versions",
        sa.Column("id", S(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("parent_id", S(length=64), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("created_from", S(length=500), nullable=False),
        sa.Column("note", S(length=2000), nullable=True),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["eval_datasets.id"], name="fk_eval_dataset_versions_dataset_id"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["eval_dataset_versions.id"], name="fk_eval_dataset_versions_parent_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_dataset_versions"),
        sa.UniqueConstraint("dataset_id", "number", name="uq_eval_dataset_versions_number"),
    )
    op.create_index("ix_eval_dataset_versions_dataset_id", "eval_dataset_versions", ["dataset_id"])
    op.create_table(
        "eval_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", S(length=64), nullable=False),
        sa.Column("key", S(length=120), nullable=False),
        sa.Column("case_hash", S(length=64), nullable=False),
        sa.Column("image_sha256", S(length=64), nullable=False),
        sa.Column("gold", sa.JSON(), nullable=False),
        sa.Column("criticality", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=True),
        sa.Column("origin", sa.JSON(), nullable=True),
        sa.Column("added_in", S(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_sha256"], ["eval_images.sha256"], name="fk_eval_cases_image_sha256"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["eval_dataset_versions.id"], name="fk_eval_cases_version_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_cases"),
        sa.UniqueConstraint("version_id", "key", name="uq_eval_cases_version_key"),
    )
    op.create_index("ix_eval_cases_version_id", "eval_cases", ["version_id"])
    op.create_table(
        "eval_runs",
        sa.Column("id", S(length=36), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("finished_at", T(), nullable=True),
        sa.Column("status", S(length=20), nullable=False),
        sa.Column("label", S(length=80), nullable=True),
        sa.Column("dataset_name", S(length=80), nullable=False),
        sa.Column("dataset_version_id", S(length=64), nullable=False),
        sa.Column("dataset_version_number", sa.Integer(), nullable=False),
        sa.Column("provider_spec", S(length=300), nullable=False),
        sa.Column("provider", S(length=40), nullable=False),
        sa.Column("model", S(length=120), nullable=True),
        sa.Column("prompt_name", S(length=80), nullable=False),
        sa.Column("prompt_version", S(length=40), nullable=False),
        sa.Column("prompt_hash", S(length=64), nullable=False),
        sa.Column("code_version", S(length=80), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("n_done", sa.Integer(), nullable=False),
        sa.Column("wall_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("spread", sa.JSON(), nullable=True),
        sa.Column("error", S(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"],
            ["eval_dataset_versions.id"],
            name="fk_eval_runs_dataset_version_id",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_created_at", "eval_runs", ["created_at"])
    op.create_index("ix_eval_runs_label", "eval_runs", ["label"])
    op.create_index("ix_eval_runs_status", "eval_runs", ["status"])
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", S(length=36), nullable=False),
        sa.Column("case_key", S(length=120), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("status", S(length=12), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("model", S(length=120), nullable=True),
        sa.Column("raw_output", S(), nullable=True),
        sa.Column("ai_call_id", S(length=36), nullable=True),
        sa.Column("error", S(length=2000), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["eval_runs.id"], name="fk_eval_results_run_id"),
        sa.PrimaryKeyConstraint("id", name="pk_eval_results"),
        sa.UniqueConstraint("run_id", "case_key", "trial", name="uq_eval_results_case_trial"),
    )
    op.create_index("ix_eval_results_run_id", "eval_results", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_eval_results_run_id", table_name="eval_results")
    op.drop_table("eval_results")
    for name in ("ix_eval_runs_status", "ix_eval_runs_label", "ix_eval_runs_created_at"):
        op.drop_index(name, table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_index("ix_eval_cases_version_id", table_name="eval_cases")
    op.drop_table("eval_cases")
    op.drop_index("ix_eval_dataset_versions_dataset_id", table_name="eval_dataset_versions")
    op.drop_table("eval_dataset_versions")
    op.drop_table("eval_images")
    op.drop_table("eval_datasets")
