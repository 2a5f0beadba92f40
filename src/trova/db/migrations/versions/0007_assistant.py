"""buyer assistant: traces and spans, pending messages, tool flags, agent eval runs

Revision ID: 0007_assistant
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_assistant"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("assistant",)
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString
_time = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "assistant_traces",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("surface", _str(length=16), nullable=False),
        sa.Column("conversation_id", _str(length=40), nullable=False),
        sa.Column("visitor_id", _str(length=64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("provider_spec", _str(length=300), nullable=False),
        sa.Column("model", _str(length=120), nullable=False),
        sa.Column("instructions_hash", _str(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("raw_answer", sa.Text(), nullable=False),
        sa.Column("status", _str(length=12), nullable=False),
        sa.Column("error", _str(length=2000), nullable=True),
        sa.Column("tools_offered", sa.JSON(), nullable=True),
        sa.Column("cited_ids", sa.JSON(), nullable=True),
        sa.Column("stripped_ids", sa.JSON(), nullable=True),
        sa.Column("pending_ids", sa.JSON(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name="fk_assistant_traces_user_id_user"),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_traces"),
    )
    with op.batch_alter_table("assistant_traces", schema=None) as batch_op:
        for column in ("conversation_id", "created_at", "status", "surface", "user_id"):
            batch_op.create_index(f"ix_assistant_traces_{column}", [column], unique=False)
        batch_op.create_index("ix_assistant_traces_visitor_id", ["visitor_id"], unique=False)

    op.create_table(
        "assistant_spans",
        sa.Column("trace_id", _str(length=32), nullable=False),
        sa.Column("span_id", _str(length=16), nullable=False),
        sa.Column("parent_id", _str(length=16), nullable=True),
        sa.Column("name", _str(length=200), nullable=False),
        sa.Column("kind", _str(length=20), nullable=False),
        sa.Column("tool_name", _str(length=80), nullable=True),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("status", _str(length=12), nullable=False),
        sa.Column("error", _str(length=2000), nullable=True),
        sa.Column("model", _str(length=120), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["assistant_traces.id"],
            name="fk_assistant_spans_trace_id_assistant_traces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_assistant_spans"),
    )
    with op.batch_alter_table("assistant_spans", schema=None) as batch_op:
        batch_op.create_index("ix_assistant_spans_tool_name", ["tool_name"], unique=False)

    op.create_table(
        "assistant_pending_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("body", _str(length=2000), nullable=False),
        sa.Column("status", _str(length=12), nullable=False),
        sa.Column("trace_id", _str(length=32), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("decided_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listing.id"],
            name="fk_assistant_pending_messages_listing_id_listing",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name="fk_assistant_pending_messages_message_id_message",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_assistant_pending_messages_user_id_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_pending_messages"),
    )
    with op.batch_alter_table("assistant_pending_messages", schema=None) as batch_op:
        for column in ("listing_id", "status", "trace_id", "user_id"):
            batch_op.create_index(f"ix_assistant_pending_messages_{column}", [column], unique=False)

    op.create_table(
        "assistant_tool_flags",
        sa.Column("tool", _str(length=80), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("traffic_share", sa.Float(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("updated_by", _str(length=254), nullable=True),
        sa.PrimaryKeyConstraint("tool", name="pk_assistant_tool_flags"),
    )

    op.create_table(
        "assistant_eval_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("provider_spec", _str(length=300), nullable=False),
        sa.Column("scenarios", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_eval_runs"),
    )
    with op.batch_alter_table("assistant_eval_runs", schema=None) as batch_op:
        batch_op.create_index("ix_assistant_eval_runs_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("assistant_eval_runs")
    op.drop_table("assistant_tool_flags")
    op.drop_table("assistant_pending_messages")
    op.drop_table("assistant_spans")
    op.drop_table("assistant_traces")
