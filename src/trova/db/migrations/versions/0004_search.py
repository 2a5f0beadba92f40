"""search: outbox of index jobs, index versions, indexed documents

Revision ID: 0004_search
Revises: 0002
Create Date: 2026-11-23

The per-version FTS/vector tables are created by trova.search.backends at run time (their
shape depends on the embedder); this revision holds only the bookkeeping tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_search"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("search",)
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "search_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("op", S(length=10), nullable=False),
        sa.Column("status", S(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", T(), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("claimed_at", T(), nullable=True),
        sa.Column("claimed_by", S(length=40), nullable=True),
        sa.Column("error", S(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_search_jobs"),
    )
    with op.batch_alter_table("search_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_search_jobs_listing_id", ["listing_id"], unique=False)
        batch_op.create_index("ix_search_jobs_status_run_after", ["status", "run_after"])

    op.create_table(
        "search_index_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", S(length=200), nullable=False),
        sa.Column("embedder", S(length=120), nullable=False),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("recipe", S(length=40), nullable=False),
        sa.Column("backend", S(length=20), nullable=False),
        sa.Column("state", S(length=12), nullable=False),
        sa.Column("doc_count", sa.Integer(), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.Column("activated_at", T(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_search_index_versions"),
    )
    with op.batch_alter_table("search_index_versions", schema=None) as batch_op:
        batch_op.create_index("ix_search_index_versions_key", ["key"], unique=False)
        batch_op.create_index("ix_search_index_versions_state", ["state"], unique=False)

    op.create_table(
        "search_docs",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", S(length=64), nullable=False),
        sa.Column("status", S(length=12), nullable=False),
        sa.Column("indexed_at", T(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["search_index_versions.id"],
            name="fk_search_docs_version_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "listing_id", name="pk_search_docs"),
    )


def downgrade() -> None:
    op.drop_table("search_docs")
    with op.batch_alter_table("search_index_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_search_index_versions_state")
        batch_op.drop_index("ix_search_index_versions_key")
    op.drop_table("search_index_versions")
    with op.batch_alter_table("search_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_search_jobs_status_run_after")
        batch_op.drop_index("ix_search_jobs_listing_id")
    op.drop_table("search_jobs")
