"""ops: hourly rollups, call outcomes, alert rules + events, annotation queues, promotions

Revision ID: 0006_ops
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_ops"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("ops",)
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime
FIELDS = ("title", "description", "category", "condition", "brand", "color", "price")
HIST = [f"lat_{i:02d}" for i in range(16)]


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "ops_rollup_hourly",
        sa.Column("bucket", T(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("prompt_name", sa.String(length=80), nullable=False),
        sa.Column("prompt_version", sa.String(length=40), nullable=False),
        sa.Column("experiment", sa.String(length=80), nullable=False),
        sa.Column("variant", sa.String(length=80), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_ok", sa.Integer(), nullable=False),
        sa.Column("n_invalid", sa.Integer(), nullable=False),
        sa.Column("n_error", sa.Integer(), nullable=False),
        sa.Column("n_timeout", sa.Integer(), nullable=False),
        sa.Column("n_fallback", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_sum_ms", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in HIST),
        sa.Column("n_published", sa.Integer(), nullable=False),
        *(sa.Column(f"sug_{f}", sa.Integer(), nullable=False) for f in FIELDS),
        *(sa.Column(f"acc_{f}", sa.Integer(), nullable=False) for f in FIELDS),
        sa.Column("thumbs_up", sa.Integer(), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket",
            "provider",
            "model",
            "prompt_name",
            "prompt_version",
            "experiment",
            "variant",
            name="pk_ops_rollup_hourly",
        ),
    )
    op.create_table(
        "ops_call_outcomes",
        sa.Column("ai_call_id", S(length=36), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("call_created_at", T(), nullable=False),
        sa.Column("published_at", T(), nullable=False),
        sa.Column("n_suggested", sa.Integer(), nullable=False),
        sa.Column("n_edited", sa.Integer(), nullable=False),
        *(sa.Column(f"st_{f}", S(length=8), nullable=True) for f in FIELDS),
        sa.ForeignKeyConstraint(
            ["ai_call_id"],
            ["ai_calls.id"],
            name="fk_ops_call_outcomes_ai_call_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ai_call_id", name="pk_ops_call_outcomes"),
    )
    _index("ops_call_outcomes", "call_created_at", "listing_id", "published_at")
    op.create_table(
        "ops_state",
        sa.Column("key", S(length=40), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_ops_state"),
    )
    op.create_table(
        "ops_alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=80), nullable=False),
        sa.Column("metric", S(length=40), nullable=False),
        sa.Column("op", S(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("min_calls", sa.Integer(), nullable=False),
        sa.Column("provider", S(length=40), nullable=True),
        sa.Column("model", S(length=120), nullable=True),
        sa.Column("webhook_url", S(length=500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("state", S(length=12), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_evaluated_at", T(), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ops_alert_rules"),
        sa.UniqueConstraint("name", name="uq_ops_alert_rules_name"),
    )
    op.create_table(
        "ops_alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("kind", S(length=12), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", S(length=500), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("notified", S(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["ops_alert_rules.id"],
            name="fk_ops_alert_events_rule_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_alert_events"),
    )
    _index("ops_alert_events", "at", "rule_id")
    op.create_table(
        "ops_annotation_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=60), nullable=False),
        sa.Column("description", S(length=500), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("daily_quota", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("sampled_until", T(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name="fk_ops_annotation_queues_created_by"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_annotation_queues"),
        sa.UniqueConstraint("name", name="uq_ops_annotation_queues_name"),
    )
    op.create_table(
        "ops_queue_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("ai_call_id", S(length=36), nullable=False),
        sa.Column("reason", S(length=40), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["user.id"], name="fk_ops_queue_items_added_by"),
        sa.ForeignKeyConstraint(
            ["ai_call_id"], ["ai_calls.id"], name="fk_ops_queue_items_ai_call_id"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["ops_annotation_queues.id"],
            name="fk_ops_queue_items_queue_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_queue_items"),
        sa.UniqueConstraint("queue_id", "ai_call_id", name="uq_ops_queue_items_queue_call"),
    )
    _index("ops_queue_items", "added_at", "ai_call_id", "queue_id")
    op.create_table(
        "ops_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("note", S(length=1000), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotator_id"], ["user.id"], name="fk_ops_annotations_annotator_id"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["ops_queue_items.id"],
            name="fk_ops_annotations_item_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_annotations"),
        sa.UniqueConstraint("item_id", "annotator_id", name="uq_ops_annotations_item_annotator"),
    )
    _index("ops_annotations", "annotator_id", "item_id")
    op.create_table(
        "ops_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("dataset", S(length=80), nullable=False),
        sa.Column("dataset_version", S(length=80), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("n_conflicts", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], name="fk_ops_promotions_created_by"),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["ops_annotation_queues.id"],
            name="fk_ops_promotions_queue_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_promotions"),
    )
    _index("ops_promotions", "queue_id")
    op.create_table(
        "ops_promoted_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("dataset", S(length=80), nullable=False),
        sa.Column("ai_call_id", S(length=36), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("case_id", S(length=80), nullable=False),
        sa.Column("annotation_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ai_call_id"], ["ai_calls.id"], name="fk_ops_promoted_cases_ai_call_id"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["ops_queue_items.id"], name="fk_ops_promoted_cases_item_id"
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["ops_promotions.id"],
            name="fk_ops_promoted_cases_promotion_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ops_promoted_cases"),
        sa.UniqueConstraint("dataset", "ai_call_id", name="uq_ops_promoted_cases_dataset_call"),
    )
    _index("ops_promoted_cases", "ai_call_id", "promotion_id")


def downgrade() -> None:
    for table in (
        "ops_promoted_cases",
        "ops_promotions",
        "ops_annotations",
        "ops_queue_items",
        "ops_annotation_queues",
        "ops_alert_events",
        "ops_alert_rules",
        "ops_state",
        "ops_call_outcomes",
        "ops_rollup_hourly",
    ):
        op.drop_table(table)
