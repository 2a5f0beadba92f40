"""Alembic, driven from Python: `trova db upgrade` and the app's start-up use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(db_url: str, revision: str = "heads") -> None:
    """Bring the schema at db_url up to `revision` (default: every branch head).

    Each room (marketplace, ai, evals, rollout, ops, search, assistant) may own a migration
    branch off the shared base; "heads" applies them all.
    """
    command.upgrade(alembic_config(db_url), revision)


def current_heads(db_url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from trova.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
