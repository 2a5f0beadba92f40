"""The `trova` command: serve, demo data, database and user administration."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from trova.config import Settings

app = typer.Typer(
    name="trova",
    help="Trova: a marketplace whose listing form fills itself from a photo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts and roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return an Exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(
            f"bad configuration: TROVA_{str(first['loc'][0]).upper()}: {first['msg']}"
        ) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from trova.db.migrate import upgrade

    settings = load_settings()
    settings.ensure_dirs()
    try:
        upgrade(settings.db_url, revision)
    except Exception as exc:  # one line, not a traceback: a CLI error for the operator
        raise fail(f"migration failed: {exc}") from None
    typer.echo(f"Database at {revision}: {_redact(settings.db_url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="TROVA_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TROVA_PORT", min=1, max=65535)] = 8000,
    migrate: Annotated[bool, typer.Option(help="Apply migrations first.")] = True,
    reload: bool = False,
) -> None:
    """Serve the web app and API."""
    import uvicorn

    settings = load_settings()
    if migrate:
        db_upgrade("head")
    typer.echo(f"Trova on http://{host}:{port}  (API docs: /docs)")
    if reload:
        uvicorn.run("trova.app:create_app", factory=True, host=host, port=port, reload=True)
    else:
        from trova.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only load when there are no listings yet.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Load the demo catalogue (real photos, demo sellers) into the database."""
    from trova.db.engine import make_engine
    from trova.demo.loader import DemoError, load_demo

    settings = load_settings()
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        result = load_demo(engine, settings, only_if_empty=if_empty)
    except DemoError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(result))
    elif result["skipped"]:
        typer.echo("The database already has listings; demo data not loaded.")
    else:
        typer.echo(
            f"Loaded {result['listings']} demo listings from {result['sellers']} sellers. "
            f"Demo logins: <seller>@demo.trova.local / {result['password']}"
        )


def _quiet_upgrade(settings: Settings) -> None:
    from trova.db.migrate import upgrade

    settings.ensure_dirs()
    upgrade(settings.db_url)


@users_app.command("create")
def users_create(
    email: str,
    name: Annotated[str, typer.Option(prompt=False)] = "",
    password: Annotated[str, typer.Option(envvar="TROVA_NEW_USER_PASSWORD")] = "",
) -> None:
    """Create a user (password from --password or TROVA_NEW_USER_PASSWORD)."""
    from trova.accounts import service
    from trova.db.engine import make_engine, session_scope

    if not password:
        raise fail("give a password with --password or TROVA_NEW_USER_PASSWORD")
    settings = load_settings()
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            user = service.register(session, email=email, password=password, name=name or email)
            typer.echo(f"Created user {user.id}: {user.email}")
    except service.AccountError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


@users_app.command("grant")
def users_grant(email: str, role: str) -> None:
    """Give EMAIL a ROLE (admin or annotator)."""
    from trova.accounts import service
    from trova.db.engine import make_engine, session_scope

    if role not in ("admin", "annotator"):
        raise fail(f"unknown role {role!r}: use admin or annotator")
    settings = load_settings()
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            user = service.grant_role(session, email, role)
            typer.echo(f"{user.email}: {', '.join(user.role_list)}")
    except service.AccountError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
