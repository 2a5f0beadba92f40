"""The `trova` command: serve, demo data, database and user administration."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

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
prompts_app = typer.Typer(help="Versioned prompts and their labels.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(prompts_app, name="prompts")


def _register_room_commands() -> None:
    """Each room owns its command group in <room>/cli.py; this is the one list of them."""
    from importlib import import_module

    rooms: list[tuple[str, str]] = [
        # (command name, module with a Typer `app`)
        ("eval", "trova.evals.cli"),
        ("annotate", "trova.ops.cli"),
        ("ops", "trova.ops.ops_cli"),
        ("assistant", "trova.assistant.cli"),
        ("experiments", "trova.rollout.cli"),
        ("simulate", "trova.rollout.simulate"),
        ("index", "trova.search.cli"),
    ]
    for name, module in rooms:
        app.add_typer(import_module(module).app, name=name)

    # Commands that live in one room but belong under another group's name.
    from trova.assistant.cli import agent_eval
    from trova.evals.cli import app as eval_app
    from trova.search.cli import eval_search_command, search_command

    app.command("search", help="Search listings: keyword, vector or hybrid.")(search_command)
    eval_app.command("search", help="Retrieval eval: recall@10, MRR, nDCG@10 per mode.")(
        eval_search_command
    )
    eval_app.command("agent", help="Agent eval scenarios (same as `trova assistant agent`).")(
        agent_eval
    )


_register_room_commands()


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
def db_upgrade(revision: str = "heads") -> None:
    """Apply migrations up to REVISION (default: all heads)."""
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
        db_upgrade("heads")
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


@app.command()
def prefill(
    path: Annotated[str, typer.Argument(help="A photo file")],
    provider: Annotated[
        str | None, typer.Option(help="Provider spec or chain, e.g. 'openai:gpt-4o-mini -> local'")
    ] = None,
    prompt: Annotated[str | None, typer.Option(help="NAME@version|label")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="The API's JSON shape")] = False,
) -> None:
    """Suggest listing fields for a photo (the same pipeline as the create form)."""
    import asyncio
    from pathlib import Path

    from trova.ai.prefill import prefill as run_prefill
    from trova.ai.providers import ProviderConfigError, get_provider, parse_chain
    from trova.ai.registry import PromptNotFound
    from trova.db.engine import make_engine
    from trova.media.intake import ImageRejected, normalize

    settings = load_settings()
    file = Path(path)
    if not file.is_file():
        raise fail(f"no such file: {path}")
    chain = parse_chain(provider) if provider else None
    try:
        for spec in chain or []:
            get_provider(spec, settings)
    except ProviderConfigError as exc:
        raise fail(str(exc), 2) from None
    try:
        image = normalize(
            file.read_bytes(),
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            min_side=settings.min_image_side,
        )
    except ImageRejected as exc:
        raise fail(f"{path}: {exc.message}", 2) from None
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        result = asyncio.run(
            run_prefill(
                engine,
                settings,
                image.data,
                image_sha256=image.sha256,
                providers=chain,
                prompt=prompt,
            )
        )
    except PromptNotFound as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(result.api_dict(), ensure_ascii=False))
    else:
        _print_draft(result)
    if result.status.value != "ok":
        raise typer.Exit(1)


def _print_draft(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    draft = result.draft
    table = Table(title=f"Draft via {result.provider}  (ai_call {result.ai_call_id})")
    table.add_column("field")
    table.add_column("value")
    table.add_column("confidence", justify="right")
    conf = draft.confidence.model_dump()
    price = f"€{draft.price_eur:,.2f}" if draft.price_eur else ""
    if draft.price_low_eur and draft.price_high_eur:
        price += f"  (€{draft.price_low_eur:,.0f}–€{draft.price_high_eur:,.0f})"
    rows = [
        ("title", draft.title),
        ("description", draft.description),
        ("category", draft.category),
        ("condition", draft.condition),
        ("brand", draft.brand),
        ("color", draft.color),
        ("price", price),
    ]
    for name, value in rows:
        table.add_row(name, value or "—", f"{conf[name]:.2f}")
    console.print(table)
    if result.price_hint:
        console.print(result.price_hint)
    if result.warning:
        console.print(f"[yellow]{result.warning}[/yellow]")
    if result.flags:
        console.print("flags: " + ", ".join(result.flags))


@prompts_app.command("list")
def prompts_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every prompt, its versions (with content hash) and labels."""
    from sqlmodel import Session

    from trova.ai import registry
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    out = []
    with Session(engine) as session:
        for name in registry.prompt_names():
            labels = registry.labels(session, name)
            for v in registry.versions(name):
                out.append(
                    {
                        "name": name,
                        "version": v.version,
                        "hash": v.content_hash,
                        "labels": sorted(lbl for lbl, ver in labels.items() if ver == v.version),
                    }
                )
    engine.dispose()
    if json_out:
        typer.echo(json.dumps(out))
        return
    for row in out:
        labels_text = f"  [{', '.join(row['labels'])}]" if row["labels"] else ""
        typer.echo(f"{row['name']}@{row['version']}  {row['hash']}{labels_text}")


def _resolve_prompt(ref: str) -> Any:
    from sqlmodel import Session

    from trova.ai import registry
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            return registry.resolve(ref, session)
    except registry.PromptNotFound as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()


@prompts_app.command("show")
def prompts_show(
    ref: Annotated[str, typer.Argument(help="NAME[@version|label|hash]")],
    rendered: Annotated[bool, typer.Option(help="Show with the taxonomy filled in")] = False,
) -> None:
    """Print a prompt version (the template, or --rendered)."""
    version = _resolve_prompt(ref)
    typer.echo(f"# {version.ref}  hash {version.content_hash}")
    typer.echo(version.render() if rendered else version.source)


@prompts_app.command("diff")
def prompts_diff(a: str, b: str) -> None:
    """Unified diff between two prompt versions, e.g. extract_listing@v1 extract_listing@v2."""
    from trova.ai import registry

    typer.echo(registry.diff(_resolve_prompt(a), _resolve_prompt(b)) or "(identical)")


@prompts_app.command("promote")
def prompts_promote(
    ref: Annotated[str, typer.Argument(help="NAME@version")],
    label: Annotated[str, typer.Option(help="Label to point at it")] = "production",
) -> None:
    """Point a label (production, candidate, …) at a prompt version."""
    from sqlmodel import Session

    from trova.ai import registry
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            version = registry.promote(session, ref, label)
    except (registry.PromptNotFound, ValueError) as exc:
        raise fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(f"{version.name}@{label} -> {version.version} ({version.content_hash})")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
