"""rollout: experiments, variants, ramps, exposures, funnel events, seller feedback

Revision ID: 0005_rollout
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005_rollout"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("rollout",)
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "rollout_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _str(length=80), nullable=False),
        sa.Column("description", _str(length=1000), nullable=False),
        sa.Column("surface", _str(length=32), nullable=False),
        sa.Column("status", _str(length=12), nullable=False),
        sa.Column("salt", _str(length=80), nullable=False),
        sa.Column("min_effect", sa.Float(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("power", sa.Float(), nullable=False),
        sa.Column("max_error_rate", sa.Float(), nullable=True),
        sa.Column("max_empty_rate", sa.Float(), nullable=True),
        sa.Column("max_latency_p95_ms", sa.Integer(), nullable=True),
        sa.Column("guardrail_window_s", sa.Integer(), nullable=False),
        sa.Column("guardrail_min_calls", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("started_at", _time(), nullable=True),
        sa.Column("stopped_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_experiments"),
    )
    with op.batch_alter_table("rollout_experiments", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_experiments_name", ["name"], unique=True)
        batch_op.create_index("ix_rollout_experiments_status", ["status"], unique=False)
        batch_op.create_index(
            "uq_rollout_experiments_running_surface",
            ["surface"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "rollout_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", _str(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("provider", _str(length=300), nullable=False),
        sa.Column("prompt", _str(length=120), nullable=True),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("status", _str(length=12), nullable=False),
        sa.Column("paused_reason", _str(length=500), nullable=True),
        sa.Column("paused_at", _time(), nullable=True),
        sa.Column("resumed_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["rollout_experiments.id"],
            name="fk_rollout_variants_experiment_id_rollout_experiments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_variants"),
        sa.UniqueConstraint("experiment_id", "name", name="uq_rollout_variants_experiment_name"),
    )
    with op.batch_alter_table("rollout_variants", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_variants_experiment_id", ["experiment_id"], unique=False)

    op.create_table(
        "rollout_ramps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("action", _str(length=20), nullable=False),
        sa.Column("allocation", sa.JSON(), nullable=True),
        sa.Column("reason", _str(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["rollout_experiments.id"],
            name="fk_rollout_ramps_experiment_id_rollout_experiments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_ramps"),
    )
    with op.batch_alter_table("rollout_ramps", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_ramps_experiment_id", ["experiment_id"], unique=False)

    op.create_table(
        "rollout_exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", _str(length=80), nullable=False),
        sa.Column("variant", _str(length=80), nullable=False),
        sa.Column("hashed_variant", _str(length=80), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", _str(length=64), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["rollout_experiments.id"],
            name="fk_rollout_exposures_experiment_id_rollout_experiments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_exposures"),
        sa.UniqueConstraint(
            "experiment_id", "unit_id", name="uq_rollout_exposures_experiment_unit"
        ),
    )
    with op.batch_alter_table("rollout_exposures", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_exposures_experiment_id", ["experiment_id"], unique=False)

    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("type", _str(length=24), nullable=False),
        sa.Column("flow_id", _str(length=32), nullable=True),
        sa.Column("unit_id", _str(length=80), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", _str(length=64), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("variant", _str(length=80), nullable=True),
        sa.Column("ai_call_id", _str(length=36), nullable=True),
        sa.Column("field", _str(length=40), nullable=True),
        sa.Column("props", sa.JSON(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_events"),
    )
    with op.batch_alter_table("rollout_events", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_events_at", ["at"], unique=False)
        batch_op.create_index("ix_rollout_events_type", ["type"], unique=False)
        batch_op.create_index("ix_rollout_events_listing_id", ["listing_id"], unique=False)
        batch_op.create_index("ix_rollout_events_experiment_id", ["experiment_id"], unique=False)
        batch_op.create_index("ix_rollout_events_flow_type", ["flow_id", "type"], unique=False)

    op.create_table(
        "rollout_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ai_call_id", _str(length=36), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", _str(length=1000), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ai_call_id"], ["ai_calls.id"], name="fk_rollout_feedback_ai_call_id_ai_calls"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_feedback"),
        sa.UniqueConstraint("ai_call_id", "seller_id", name="uq_rollout_feedback_call_seller"),
    )
    with op.batch_alter_table("rollout_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_feedback_ai_call_id", ["ai_call_id"], unique=False)

    op.create_table(
        "rollout_field_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ai_call_id", _str(length=36), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("field", _str(length=40), nullable=False),
        sa.Column("outcome", _str(length=12), nullable=False),
        sa.Column("ai_value", _str(length=4000), nullable=True),
        sa.Column("final_value", _str(length=4000), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ai_call_id"],
            ["ai_calls.id"],
            name="fk_rollout_field_feedback_ai_call_id_ai_calls",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_field_feedback"),
    )
    with op.batch_alter_table("rollout_field_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_field_feedback_ai_call_id", ["ai_call_id"], unique=False)
        batch_op.create_index("ix_rollout_field_feedback_listing_id", ["listing_id"], unique=False)


def downgrade() -> None:
    op.drop_table("rollout_field_feedback")
    op.drop_table("rollout_feedback")
    op.drop_table("rollout_events")
    op.drop_table("rollout_exposures")
    op.drop_table("rollout_ramps")
    op.drop_table("rollout_variants")
    op.drop_table("rollout_experiments")
