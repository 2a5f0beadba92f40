"""browse indexes: the grid's filters and sorts served by an index, not a sort of every row

Revision ID: 0008_browse_indexes
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_browse_indexes"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("browse",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_listing_status_published", "listing", ["status", "published_at", "id"])
    op.create_index("ix_listing_status_price", "listing", ["status", "price_cents", "id"])
    op.create_index("ix_listing_status_category", "listing", ["status", "category"])


def downgrade() -> None:
    op.drop_index("ix_listing_status_category", table_name="listing")
    op.drop_index("ix_listing_status_price", table_name="listing")
    op.drop_index("ix_listing_status_published", table_name="listing")
