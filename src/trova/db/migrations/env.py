"""Alembic environment: one metadata for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from alembic import context

from trova.db.engine import make_engine
from trova.db.tables import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        # The app's own engine factory: on SQLite the same driver (sqlean + sqlite-vec) as the
        # app, so one process never mixes two SQLite libraries on one WAL file.
        connectable = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with connectable.connect() as connection:
            _run(connection)
        connectable.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
