"""`trova annotate …` (queues, sampling, promotion to eval sets) and `trova ops …`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Annotation queues: sample AI calls, promote verdicts to eval sets.", no_args_is_help=True
)
ops_app = typer.Typer(help="Monitoring: rollups and alert rules.", no_args_is_help=True)
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _engine() -> Any:
    from trova.cli import _quiet_upgrade, load_settings
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    return settings, make_engine(settings.db_url)


@app.command("queues")
def queues(json_out: JsonOut = False) -> None:
    """Every annotation queue: its rule, quota, progress and agreement."""
    from sqlmodel import Session, col, select

    from trova.ops import annotation
    from trova.ops.models import AnnotationQueue

    _, engine = _engine()
    rows: list[dict[str, Any]] = []
    try:
        with Session(engine) as session:
            for q in session.exec(select(AnnotationQueue).order_by(col(AnnotationQueue.name))):
                stats = annotation.stats(session, q)
                agree = annotation.agreement(session, q)
                rows.append(
                    {
                        "name": q.name,
                        "rule": q.rule,
                        "rule_text": annotation.rule_of(q).describe(),
                        "daily_quota": q.daily_quota,
                        "overlap": q.overlap,
                        "items": stats.items,
                        "done": stats.done,
                        "added_today": stats.added_today,
                        "agreement": agree.overall,
                        "kappa": agree.kappa,
                    }
                )
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("No annotation queues yet: create one with `trova annotate create NAME`.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Annotation queues")
    for column in ("queue", "rule", "quota/day", "items", "done", "today", "agreement"):
        table.add_column(column)
    for r in rows:
        agreement = f"{r['agreement']:.0%}" if r["agreement"] is not None else "—"
        table.add_row(
            r["name"],
            r["rule_text"],
            str(r["daily_quota"]),
            str(r["items"]),
            str(r["done"]),
            str(r["added_today"]),
            agreement,
        )
    Console().print(table)


@app.command("create")
def create(
    name: str,
    rule: Annotated[
        str,
        typer.Option(
            help="random, stratified, thumbs_down, edited, low_confidence, errors or variant"
        ),
    ] = "random",
    share: Annotated[float, typer.Option(min=0.0001, max=1.0, help="Share kept, 0–1")] = 1.0,
    quota: Annotated[int, typer.Option(min=0, help="Calls sampled per UTC day")] = 50,
    overlap: Annotated[int, typer.Option(min=1, max=3, help="Annotators per call")] = 1,
    min_edited: Annotated[int, typer.Option(help="edited: fields changed")] = 2,
    below: Annotated[float, typer.Option(help="low_confidence: threshold")] = 0.5,
    experiment: Annotated[str | None, typer.Option(help="variant: the experiment")] = None,
    variant: Annotated[str | None, typer.Option(help="variant: the variant")] = None,
    description: str = "",
    json_out: JsonOut = False,
) -> None:
    """Create a queue with a sampling rule and sample it once."""
    from sqlmodel import Session

    from trova.ops import annotation

    _, engine = _engine()
    try:
        with Session(engine, expire_on_commit=False) as session:
            queue = annotation.create_queue(
                session,
                name=name,
                description=description,
                rule={
                    "kind": rule,
                    "share": share,
                    "min_edited": min_edited,
                    "below": below,
                    "experiment": experiment,
                    "variant": variant,
                },
                daily_quota=quota,
                overlap=overlap,
            )
            added = annotation.fill_queue(session, queue)
    except annotation.AnnotationError as exc:
        raise _fail(str(exc), 2) from None
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps({"name": queue.name, "rule": queue.rule, "sampled": added}))
    else:
        typer.echo(f"Queue {queue.name}: {annotation.rule_of(queue).describe()}; {added} sampled.")


@app.command("sample")
def sample(
    queue: Annotated[str | None, typer.Option(help="One queue (default: all)")] = None,
    json_out: JsonOut = False,
) -> None:
    """Sample new calls into the queues now (the app's refresher does this every minute)."""
    from sqlmodel import Session

    from trova.ops import annotation

    _, engine = _engine()
    try:
        if queue:
            with Session(engine, expire_on_commit=False) as session:
                q = annotation.get_queue(session, queue)
                result = {q.name: annotation.fill_queue(session, q)}
        else:
            result = annotation.fill_all(engine)
    except annotation.AnnotationError as exc:
        raise _fail(str(exc), 2) from None
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(result))
    else:
        for name, n in result.items():
            typer.echo(f"{name}: {n} sampled")


@app.command("export")
def export(
    queue: Annotated[str, typer.Option("--queue", help="The queue whose annotations to use")],
    to_dataset: Annotated[str, typer.Option("--to-dataset", help="Eval dataset name")],
    json_out: JsonOut = False,
) -> None:
    """Promote the queue's annotated calls into a new version of an eval dataset."""
    from trova.media.storage import LocalStorage
    from trova.ops.annotation import AnnotationError
    from trova.ops.promotion import promote

    settings, engine = _engine()
    try:
        result = promote(engine, LocalStorage(settings.images_dir), queue, to_dataset)
    except AnnotationError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(
        f"{result.version} ({result.version_id[:12]}): {result.cases} case(s) from queue {queue}"
        + (f"; {result.conflicts} left out, annotators disagree" if result.conflicts else "")
        + ("" if result.created else " (identical content: existing version)")
    )
    for reason, n in result.skipped.items():
        typer.echo(f"  skipped {n}: {reason}")


# ---------------------------------------------------------------- trova ops


@ops_app.command("refresh")
def refresh(json_out: JsonOut = False) -> None:
    """Bring the monitoring rollups up to date (the first run backfills the whole log)."""
    from rich.progress import Progress

    from trova.ops.rollups import refresh as run_refresh

    _, engine = _engine()
    try:
        if json_out:
            result = run_refresh(engine)
        else:
            with Progress(transient=True) as progress:
                task = progress.add_task("Rolling up AI calls", total=None)

                def update(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = run_refresh(engine, progress=update)
    finally:
        engine.dispose()
    out = {
        "hours": result.hours,
        "outcomes": result.outcomes,
        "until": result.rolled_until.isoformat(),
    }
    if json_out:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"Rolled up {result.hours} hour(s), {result.outcomes} published outcome(s).")


@ops_app.command("alerts")
def alerts_list(
    evaluate: Annotated[bool, typer.Option(help="Evaluate the rules now (and notify)")] = False,
    json_out: JsonOut = False,
) -> None:
    """Alert rules and their state (--evaluate runs them first)."""
    from sqlmodel import Session, col, select

    from trova.ops import alerts
    from trova.ops.models import AlertRule

    settings, engine = _engine()
    try:
        if evaluate:
            alerts.evaluate(engine, settings)
        with Session(engine) as session:
            rules = session.exec(select(AlertRule).order_by(col(AlertRule.name))).all()
            rows = [
                {
                    "name": r.name,
                    "rule": alerts.describe(r),
                    "state": r.state,
                    "enabled": r.enabled,
                    "value": r.last_value,
                }
                for r in rules
            ]
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(
            f"{r['state']:>7}  {r['name']}: {r['rule']}{'' if r['enabled'] else ' (paused)'}"
        )
    if not rows:
        typer.echo("No alert rules yet: add one with `trova ops alert-add`.")


@ops_app.command("alert-add")
def alert_add(
    name: str,
    metric: Annotated[str, typer.Option(help="error_rate, timeout_rate, invalid_rate, p95_ms, …")],
    threshold: Annotated[float, typer.Option(help="Rates as a share: 0.05 = 5%")],
    op: Annotated[str, typer.Option(help="> or <")] = ">",
    window: Annotated[int, typer.Option(help="Window in minutes")] = 15,
    min_calls: Annotated[int, typer.Option(help="Do not judge windows with fewer calls")] = 20,
    webhook: Annotated[str | None, typer.Option(help="POST firing/resolved here")] = None,
) -> None:
    """Add an alert rule, e.g. `trova ops alert-add errors --metric error_rate --threshold 0.05`."""
    from sqlmodel import Session

    from trova.ops import alerts

    _, engine = _engine()
    try:
        with Session(engine) as session:
            rule = alerts.create_rule(
                session,
                name=name,
                metric=metric,
                op=op,
                threshold=threshold,
                window_minutes=window,
                min_calls=min_calls,
                webhook_url=webhook,
            )
            typer.echo(f"Added {rule.name}: {alerts.describe(rule)}")
    except alerts.RuleError as exc:
        raise _fail(str(exc), 2) from None
    finally:
        engine.dispose()
