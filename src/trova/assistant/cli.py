"""`trova assistant …`: agent evals, one-off questions, tool rollout, recent traces."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="The buyer assistant: agent evals, questions, tool rollout, traces.", no_args_is_help=True
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _settings_and_engine() -> tuple[Any, Any]:
    from trova.cli import _quiet_upgrade, load_settings
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    return settings, make_engine(settings.db_url)


def _check_provider(provider: str, settings: Any) -> None:
    from trova.ai.providers import ProviderConfigError
    from trova.assistant.agent import build_model

    try:
        build_model(provider, settings)
    except ProviderConfigError as exc:
        raise _fail(str(exc), 2) from None


@app.command("agent")
def agent_eval(
    provider: Annotated[
        str,
        typer.Option(
            envvar="TROVA_EVAL_AGENT_PROVIDER",
            help="'scripted' (offline: replays each scenario's script) or an LLM spec, "
            "e.g. openai:gpt-4o-mini",
        ),
    ] = "scripted",
    scenarios: Annotated[
        Path | None, typer.Option(help="A scenario file or folder (default evals/agent/)")
    ] = None,
    only: Annotated[str | None, typer.Option(help="Run scenarios whose name contains this")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the agent eval scenarios; exit 1 if any fails (CI can gate on it)."""
    from rich.console import Console
    from rich.progress import Progress

    from trova.assistant import evals

    settings, engine = _settings_and_engine()
    _check_provider(provider, settings)
    try:
        loaded = evals.load_scenarios(scenarios or evals.SCENARIOS_DIR, only)
    except evals.ScenarioError as exc:
        raise _fail(str(exc), 2) from None
    console = Console(stderr=json_out)
    try:
        with Progress(console=console, transient=True, disable=json_out) as progress:
            task = progress.add_task(f"{len(loaded)} scenarios on {provider}", total=len(loaded))
            report = asyncio.run(
                evals.run_eval(
                    loaded,
                    settings=settings,
                    store_engine=engine,
                    provider=provider,
                    on_result=lambda _r: progress.advance(task),
                )
            )
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
    else:
        for result in report.results:
            mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
            tools = ", ".join(name for name, _ in result.tool_calls) or "no tools"
            console.print(f"{mark} {result.name}  ({tools}; rounds {result.rounds})")
            for failure in result.failures:
                console.print(f"     - {failure}")
        console.print(
            f"{report.passed} passed, {report.failed} failed  "
            f"(run {report.run_id}, {report.duration_ms} ms)"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="What the buyer types")],
    provider: Annotated[
        str | None, typer.Option(help="Override TROVA_ASSISTANT_PROVIDER for this question")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the assistant one question against this database (drafts stay pending)."""
    from trova.assistant.agent import Assistant, provider_spec

    settings, engine = _settings_and_engine()
    spec = provider or provider_spec(settings)
    if not spec:
        from trova.assistant.agent import SETUP_HINT

        raise _fail(SETUP_HINT, 2)
    _check_provider(spec, settings)
    assistant = Assistant(settings, engine, spec=spec)
    try:
        result = asyncio.run(assistant.ask(question, visitor_id="cli", surface="cli"))
    finally:
        assistant.close()
        engine.dispose()
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "trace_id": result.trace_id,
                    "status": result.status,
                    "answer": result.answer,
                    "cited": result.cited,
                    "stripped": result.stripped,
                    "tool_calls": result.tools_called,
                },
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(result.answer)
        typer.echo(f"\n(trace {result.trace_id}, {result.rounds} rounds, status {result.status})")
    if not result.ok:
        raise typer.Exit(1)


@app.command("tools")
def tools(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each agent tool with its enabled flag and traffic share."""
    from sqlmodel import Session

    from trova.assistant import rollout

    _, engine = _settings_and_engine()
    with Session(engine) as session:
        states = rollout.tool_states(session)
    engine.dispose()
    if json_out:
        typer.echo(json.dumps([s.__dict__ for s in states]))
        return
    for s in states:
        flag = "on " if s.enabled else "off"
        typer.echo(f"{s.tool:16} {flag}  {s.traffic_share:>6.0%}  {s.updated_by or ''}")


@app.command("tool")
def tool(
    name: Annotated[str, typer.Argument(help="search_listings, get_listing, price_stats, …")],
    on: Annotated[bool | None, typer.Option("--on/--off", help="Enable or disable")] = None,
    share: Annotated[
        float | None, typer.Option(min=0, max=1, help="Traffic share 0..1 (sticky per visitor)")
    ] = None,
) -> None:
    """Turn a tool on/off or set its traffic share."""
    from sqlmodel import Session

    from trova.assistant import rollout

    if on is None and share is None:
        raise _fail("say what to change: --on, --off or --share 0.25", 2)
    _, engine = _settings_and_engine()
    try:
        with Session(engine) as session:
            state = rollout.set_tool(session, name, enabled=on, traffic_share=share, by="cli")
    except (rollout.UnknownTool, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    finally:
        engine.dispose()
    typer.echo(
        f"{state.tool}: {'on' if state.enabled else 'off'}, {state.traffic_share:.0%} of visitors"
    )


@app.command("traces")
def traces(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    status: Annotated[str | None, typer.Option(help="ok, error, limit, timeout")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest assistant runs (open one in the ops console: /ops/traces/<id>)."""
    from sqlmodel import Session

    from trova.assistant.traces import list_traces

    _, engine = _settings_and_engine()
    with Session(engine) as session:
        page = list_traces(session, status=status, limit=limit)
    engine.dispose()
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "created_at": t.created_at.isoformat(),
            "status": t.status,
            "surface": t.surface,
            "rounds": t.rounds,
            "tool_calls": t.tool_calls,
            "tokens": t.tokens_in + t.tokens_out,
            "cost_usd": t.cost_usd,
            "latency_ms": t.latency_ms,
            "question": t.question,
        }
        for t in page.items
    ]
    if json_out:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['id'][:12]}  {r['status']:7} {r['surface']:5} {r['rounds']}r "
            f"{r['latency_ms']:>6} ms  {r['question'][:70]}"
        )
