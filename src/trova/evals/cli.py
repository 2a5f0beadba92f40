"""`trova eval …`: datasets, runs, compare, gate, report, baselines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

app = typer.Typer(
    help="Evaluate prefill on versioned photo datasets: run, compare, gate, report.",
    no_args_is_help=True,
)
baseline_app = typer.Typer(help="Committed baseline files for the CI gate.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
HEADLINE = (
    "category_accuracy",
    "category_top3",
    "color_accuracy",
    "brand_accuracy",
    "title_relevance",
    "price_in_range",
    "validity",
    "empty_field_rate",
    "overall",
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _engine() -> Iterator[tuple[Engine, Any]]:
    from trova.cli import load_settings
    from trova.db.engine import make_engine
    from trova.db.migrate import upgrade

    settings = load_settings()
    settings.ensure_dirs()
    try:
        upgrade(settings.db_url)
    except Exception as exc:  # one line for the operator, not a traceback
        raise _fail(f"database migration failed: {exc}") from None
    engine = make_engine(settings.db_url)
    try:
        yield engine, settings
    finally:
        engine.dispose()


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


@app.command("datasets")
def datasets_cmd(json_out: JsonOpt = False) -> None:
    """List eval datasets and their versions (the shipped ones are imported on first use)."""
    from sqlmodel import Session

    from trova.evals.datasets import datasets_dir, list_datasets, resolve_arg

    with _engine() as (engine, settings):
        shipped = sorted(
            p.name for p in datasets_dir(settings).glob("*") if (p / "manifest.jsonl").is_file()
        )
        for name in shipped:
            resolve_arg(engine, settings, name)
        with Session(engine) as session:
            rows = list_datasets(session)
    if json_out:
        _echo_json(rows)
        return
    for ds in rows:
        typer.echo(ds["name"])
        for v in ds["versions"]:
            typer.echo(
                f"  {v['version']:<4} {v['hash'][:12]}  {v['cases']:>4} cases "
                f"(+{v['added_cases']} new)  {v['created_at'][:19]}  {v['created_from']}"
            )


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="A folder with manifest.jsonl/.yaml + images")],
    name: Annotated[str, typer.Option(help="Dataset name")],
    note: Annotated[str | None, typer.Option(help="Why this version")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a manifest + images as a new version of dataset NAME (same content: no-op)."""
    from trova.evals.datasets import import_path
    from trova.evals.manifest import DatasetError

    if not path.exists():
        raise _fail(f"no such folder or manifest: {path}")
    with _engine() as (engine, _):
        try:
            ref, created = import_path(engine, path, name, note=note)
        except DatasetError as exc:
            raise _fail(str(exc), 2) from None
    if json_out:
        _echo_json(
            {
                "dataset": ref.dataset,
                "version": f"v{ref.number}",
                "hash": ref.version_id,
                "cases": ref.case_count,
                "created": created,
            }
        )
    elif created:
        typer.echo(f"Imported {ref.ref} ({ref.short_hash}): {ref.case_count} cases.")
    else:
        typer.echo(f"Same content as {ref.ref} ({ref.short_hash}); nothing new imported.")


@app.command("export")
def export_cmd(
    ref: Annotated[str, typer.Argument(help="NAME[@version]")],
    out: Annotated[Path, typer.Argument(help="An empty or new folder")],
) -> None:
    """Write a dataset version as manifest.jsonl + images/ (re-importing gives the same hash)."""
    from trova.evals.datasets import export
    from trova.evals.manifest import DatasetError

    with _engine() as (engine, _):
        try:
            version, manifest = export(engine, ref, out)
        except DatasetError as exc:
            raise _fail(str(exc), 2) from None
    typer.echo(f"Exported {version.ref} ({version.short_hash}) to {manifest}")


@app.command("run")
def run_cmd(
    dataset: Annotated[
        str, typer.Option(help="NAME[@version], or a PATH to a manifest folder")
    ] = "starter",
    provider: Annotated[
        str, typer.Option(help="local, fake, openai:<model>, anthropic:<model>, …")
    ] = "local",
    prompt: Annotated[str | None, typer.Option(help="NAME@version|label")] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Cases in flight (TROVA_EVAL_CONCURRENCY)")
    ] = None,
    trials: Annotated[int, typer.Option(min=1, max=50, help="Runs per case")] = 1,
    retries: Annotated[int | None, typer.Option(min=0, max=10, help="Per call")] = None,
    timeout: Annotated[float | None, typer.Option(min=0.1, help="Seconds per call")] = None,
    label: Annotated[str | None, typer.Option(help="Name this run (e.g. production)")] = None,
    live: Annotated[
        bool, typer.Option(help="Use the app database (comparables, ai_calls surface=eval)")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases")] = None,
    gate_baseline: Annotated[
        str | None, typer.Option("--gate", help="Then gate against this baseline (run/label/file)")
    ] = None,
    max_drop: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    json_out: JsonOpt = False,
) -> None:
    """Run a provider + prompt over a dataset; results and lineage are stored in the DB."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from trova.evals import runner
    from trova.evals.datasets import resolve_arg
    from trova.evals.manifest import DatasetError

    with _engine() as (engine, settings):
        try:
            version = resolve_arg(engine, settings, dataset)
            options = runner.RunOptions(
                provider=provider,
                prompt=prompt,
                concurrency=concurrency or settings.eval_concurrency,
                trials=trials,
                retries=retries,
                timeout_s=timeout,
                label=label,
                live=live,
                limit=limit,
            )
            prepared = runner.prepare(engine, settings, version, options)
        except (DatasetError, runner.EvalError) as exc:
            raise _fail(str(exc), 2) from None
        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            disable=json_out or not sys.stderr.isatty(),
            console=None,
        )
        task = progress.add_task(f"{version.ref} · {provider}", total=prepared.total)
        try:
            with progress:
                run = asyncio.run(
                    runner.execute(
                        engine, prepared, lambda done, _t: progress.update(task, completed=done)
                    )
                )
        except KeyboardInterrupt:
            stopped = runner.existing_run(engine, prepared.run_id)
            done = stopped.n_done if stopped else 0
            typer.echo(
                f"Interrupted: run {prepared.run_id} stored as interrupted "
                f"({done} of {prepared.total} done).",
                err=True,
            )
            raise typer.Exit(130) from None
        summary = runner.summary(run)
        if json_out and not gate_baseline:
            _echo_json(summary)
        elif not json_out:
            _print_run(summary)
        if gate_baseline:
            passed = _gate(engine, run.id, gate_baseline, max_drop, None, False, json_out, summary)
            if not passed:
                raise typer.Exit(1)


def _print_run(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    metrics = summary["metrics"]
    spread = summary.get("spread") or {}
    table = Table(
        title=f"Eval run {summary['run_id'][:12]} [{summary['status']}]",
        caption=f"{summary['dataset']} · {summary['provider']} · {summary['prompt']}",
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    if spread:
        table.add_column("± std (trials)", justify="right")
    for name in HEADLINE:
        value = metrics.get(name)
        row = [name, "—" if value is None else f"{value:.3f}"]
        if spread:
            row.append(f"{spread[name]['std']:.3f}" if name in spread else "")
        table.add_row(*row)
    for name in ("latency_p50_ms", "latency_p95_ms"):
        if metrics.get(name) is not None:
            table.add_row(name, f"{metrics[name]:.0f}", *([""] if spread else []))
    table.add_row(
        "cost_per_case_usd",
        f"{metrics.get('cost_per_case_usd') or 0:.5f}",
        *([""] if spread else []),
    )
    console = Console()
    console.print(table)
    console.print(
        f"{summary['n_done']} results in {summary['wall_s']:.1f} s · "
        f"code {summary['code_version'] or 'unknown'}"
    )


@app.command("runs")
def runs_cmd(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, json_out: JsonOpt = False
) -> None:
    """Recent eval runs, newest first."""
    from sqlmodel import Session

    from trova.evals import store

    with _engine() as (engine, _), Session(engine) as session:
        runs = store.list_runs(session, limit)
        rows = [
            {
                **store.lineage(r),
                "overall": (r.metrics or {}).get("overall"),
                "category_accuracy": (r.metrics or {}).get("category_accuracy"),
            }
            for r in runs
        ]
    if json_out:
        _echo_json(rows)
        return
    for r in rows:
        overall = "—" if r["overall"] is None else f"{r['overall']:.3f}"
        typer.echo(
            f"{r['run_id'][:12]}  {r['created_at'][:19]}  {r['status']:<11} "
            f"{r['dataset']}@{r['dataset_version']:<4} {r['provider']:<24} {r['prompt']:<22} "
            f"overall {overall}{'  [' + r['label'] + ']' if r['label'] else ''}"
        )


@app.command("show")
def show_cmd(
    run: Annotated[str, typer.Argument(help="Run id, prefix, label or latest")],
    json_out: JsonOpt = False,
) -> None:
    """A run's metrics and lineage."""
    from sqlmodel import Session

    from trova.evals import runner, store

    with _engine() as (engine, _), Session(engine) as session:
        try:
            found = store.get_run(session, run)
        except store.RunNotFound as exc:
            raise _fail(str(exc), 2) from None
        summary = runner.summary(found)
        summary["lineage"] = store.lineage(found)
    if json_out:
        _echo_json(summary)
    else:
        _print_run(summary)


@app.command("label")
def label_cmd(run: str, label: str) -> None:
    """Give RUN a label (e.g. production); `--baseline production` then finds it."""
    from sqlmodel import Session

    from trova.evals import store

    with _engine() as (engine, _), Session(engine) as session:
        try:
            found = store.get_run(session, run)
        except store.RunNotFound as exc:
            raise _fail(str(exc), 2) from None
        found.label = label
        session.add(found)
        session.commit()
        typer.echo(f"Run {found.id} labelled {label!r}.")


@app.command("compare")
def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="Baseline: run, label or baseline file")],
    run_b: Annotated[str, typer.Argument(help="Candidate: run, label or baseline file")],
    samples: Annotated[int, typer.Option(min=100, max=100_000, help="Bootstrap samples")] = 2000,
    seed: int = 0,
    json_out: JsonOpt = False,
) -> None:
    """Per-field deltas B - A with 95% CIs, and the cases that flipped."""
    from sqlmodel import Session

    from trova.evals import store
    from trova.evals.compare import compare

    with _engine() as (engine, _), Session(engine) as session:
        try:
            a, b = store.load(session, run_a), store.load(session, run_b)
        except store.RunNotFound as exc:
            raise _fail(str(exc), 2) from None
    result = compare(a, b, samples=samples, seed=seed)
    if json_out:
        _echo_json(result.as_dict())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for warning in result.warnings:
        console.print(f"[yellow]{warning}[/yellow]")
    table = Table(title=f"B {b.ref[:12]} − A {a.ref[:12]}  ({result.shared_cases} shared cases)")
    for col in ("metric", "A", "B", "Δ", "95% CI"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for d in result.deltas:
        delta = "—" if d.delta is None else f"{d.delta:+.3f}"
        if d.significant:
            delta = f"[{'green' if d.better else 'red'}]{delta}[/]"
        ci = "—" if d.ci_low is None else f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}]"
        table.add_row(d.metric, _fmt(d.a), _fmt(d.b), delta, ci)
    for d in result.operational:
        table.add_row(d.metric, _fmt(d.a, 4), _fmt(d.b, 4), _fmt(d.delta, 4), "")
    console.print(table)
    for title, flips in (("right → wrong", result.regressions), ("wrong → right", result.fixes)):
        console.print(f"[bold]{title}[/bold]")
        if not flips:
            console.print("  none")
        for f, keys in flips.items():
            console.print(f"  {f} ({len(keys)}): {', '.join(keys)}")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@app.command("gate")
def gate_cmd(
    candidate: Annotated[str, typer.Option(help="Run id, prefix, label or latest")],
    baseline: Annotated[str, typer.Option(help="Run, label or baseline .json file")],
    max_drop: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    metric: Annotated[
        list[str] | None, typer.Option(help="Gate these metrics instead (repeatable)")
    ] = None,
    allow_dataset_change: bool = False,
    json_out: JsonOpt = False,
) -> None:
    """Exit 1 (with a one-screen reason) when a critical metric drops more than --max-drop."""
    with _engine() as (engine, _):
        passed = _gate(
            engine, candidate, baseline, max_drop, metric, allow_dataset_change, json_out, None
        )
    if not passed:
        raise typer.Exit(1)


def _gate(
    engine: Engine,
    candidate: str,
    baseline: str,
    max_drop: float,
    metrics: list[str] | None,
    allow_dataset_change: bool,
    json_out: bool,
    summary: dict[str, Any] | None,
) -> bool:
    from sqlmodel import Session

    from trova.evals import store
    from trova.evals.gate import gate

    with Session(engine) as session:
        try:
            cand, base = store.load(session, candidate), store.load(session, baseline)
        except store.RunNotFound as exc:
            raise _fail(str(exc), 2) from None
    result = gate(
        cand, base, max_drop=max_drop, metrics=metrics, allow_dataset_change=allow_dataset_change
    )
    if json_out:
        out = {"gate": result.as_dict()}
        if summary is not None:
            out = {**summary, **out}
        _echo_json(out)
    else:
        typer.echo(result.text(cand, base), err=not result.passed)
    return result.passed


@app.command("report")
def report_cmd(
    run: Annotated[str, typer.Argument(help="Run id, prefix, label or latest")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("eval-report.html"),
    compare_with: Annotated[
        str | None, typer.Option("--compare", help="Baseline run, label or file")
    ] = None,
) -> None:
    """Write a self-contained HTML report (charts, failing cases with photos)."""
    from trova.evals import store
    from trova.evals.report import render

    with _engine() as (engine, _):
        try:
            html = render(engine, run, compare_with)
        except store.RunNotFound as exc:
            raise _fail(str(exc), 2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, "utf-8")
    typer.echo(f"Wrote {out} ({len(html) // 1024} KiB)")


@baseline_app.command("write")
def baseline_write(
    run: Annotated[str, typer.Argument(help="Run id, prefix, label or latest")],
    out: Annotated[Path, typer.Option(help="Baseline file")] = Path(
        "evals/baselines/starter-local.json"
    ),
    reason: Annotated[str | None, typer.Option(help="Why the baseline changes")] = None,
) -> None:
    """Freeze a completed run as the committed baseline (commit it alone, with the reason)."""
    from sqlmodel import Session

    from trova.evals import store

    with _engine() as (engine, _), Session(engine) as session:
        try:
            data = store.run_data(session, store.get_run(session, run))
            store.write_baseline(data, out, reason)
        except (store.RunNotFound, ValueError) as exc:
            raise _fail(str(exc), 2) from None
    typer.echo(
        f"Wrote {out}: {data.lineage['dataset']}@{data.lineage['dataset_version']} · "
        f"{data.lineage['provider']} · overall {data.metrics.get('overall')}"
    )
