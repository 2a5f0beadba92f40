"""`trova experiments`: create, list, show, start, ramp and stop A/B tests of the AI prefill."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from sqlmodel import Session

from trova.rollout import experiments, results
from trova.rollout.experiments import ExperimentError, ExperimentView, VariantSpec

app = typer.Typer(
    help="A/B experiments on the AI prefill: variants, ramps, results, guardrails.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
T = TypeVar("T")


@contextmanager
def _session() -> Iterator[tuple[Session, Any]]:
    from trova.cli import _quiet_upgrade, load_settings
    from trova.db.engine import make_engine

    settings = load_settings()
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session, settings
    finally:
        engine.dispose()


def _run(action: Callable[[Session, Any], T]) -> T:
    from trova.cli import fail

    with _session() as (session, settings):
        try:
            return action(session, settings)
        except ExperimentError as exc:
            raise fail(str(exc), 2) from None


def _summary(session: Session, view: ExperimentView) -> dict[str, Any]:
    from trova.rollout.api import summary

    return summary(view, results.summary_counts(session, view.experiment.id or 0))


def _print_summary(data: dict[str, Any]) -> None:
    typer.echo(f"{data['name']}  [{data['status']}]  surface={data['surface']}")
    for v in data["variants"]:
        control = " (control)" if v["control"] else ""
        paused = f"  PAUSED: {v['paused_reason']}" if v["status"] == "paused" else ""
        prompt = f" + {v['prompt']}" if v["prompt"] else ""
        typer.echo(
            f"  {v['name']}{control}: {v['provider']}{prompt}  {v['weight']:g}%  "
            f"{v['units']} units{paused}"
        )


@app.command("create")
def create(
    name: str,
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant",
            "-v",
            help="NAME=PROVIDER[+PROMPT], repeat: control=off, v2='local+extract_listing@v2'",
        ),
    ],
    weights: Annotated[
        str | None, typer.Option(help="Percent per variant in order, e.g. 90,10 (default even)")
    ] = None,
    control: Annotated[
        str | None, typer.Option(help="Control variant (default: the first)")
    ] = None,
    description: str = "",
    min_effect: Annotated[
        float, typer.Option(help="Publish-rate difference to detect (absolute, 0.05 = 5 points)")
    ] = 0.05,
    max_error_rate: Annotated[float, typer.Option(help="Guardrail; 1 turns it off")] = 0.2,
    max_empty_rate: Annotated[float, typer.Option(help="Guardrail; 1 turns it off")] = 0.3,
    max_p95_ms: Annotated[
        int, typer.Option(help="Guardrail on p95 latency; 0 turns it off")
    ] = 15_000,
    window_min: Annotated[float, typer.Option(help="Guardrail sliding window, minutes")] = 60,
    min_calls: Annotated[int, typer.Option(help="Calls in the window before judging")] = 20,
    start: Annotated[bool, typer.Option("--start", help="Start it right away")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an experiment (in draft unless --start)."""
    from trova.cli import fail

    try:
        specs = [VariantSpec.parse(v) for v in variant]
        if weights:
            parts = [float(w) for w in weights.replace("/", ",").split(",")]
            if len(parts) != len(specs):
                raise ExperimentError(
                    f"--weights has {len(parts)} numbers for {len(specs)} variants."
                )
            specs = [
                VariantSpec(s.name, s.provider, s.prompt, w)
                for s, w in zip(specs, parts, strict=True)
            ]
    except ValueError as exc:
        message = str(exc) if isinstance(exc, ExperimentError) else "--weights: numbers like 50,50"
        raise fail(message, 2) from None

    def action(session: Session, _settings: Any) -> dict[str, Any]:
        view = experiments.create(
            session,
            name,
            specs,
            control=control,
            description=description,
            min_effect=min_effect,
            max_error_rate=None if max_error_rate >= 1 else max_error_rate,
            max_empty_rate=None if max_empty_rate >= 1 else max_empty_rate,
            max_latency_p95_ms=max_p95_ms or None,
            guardrail_window_s=max(10, round(window_min * 60)),
            guardrail_min_calls=min_calls,
        )
        if start:
            view = experiments.start(session, name)
        return _summary(session, view)

    data = _run(action)
    if json_out:
        typer.echo(json.dumps(data))
    else:
        _print_summary(data)


@app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """Every experiment, newest first."""
    data = _run(lambda session, _s: [_summary(session, v) for v in experiments.list_all(session)])
    if json_out:
        typer.echo(json.dumps(data))
    elif not data:
        typer.echo("No experiments yet: trova experiments create NAME --variant control=off ...")
    else:
        for row in data:
            _print_summary(row)


@app.command("show")
def show(
    name: str,
    population: Annotated[
        results.Population, typer.Option(help="real (default), simulated or all traffic")
    ] = results.Population.real,
    json_out: JsonOpt = False,
) -> None:
    """Results per variant: publish rate, time to publish, tests, SRM, guardrails."""

    def action(session: Session, settings: Any) -> dict[str, Any]:
        view = experiments.get(session, name)
        return results.compute(
            session,
            view,
            abandon_timeout_s=settings.rollout_abandon_timeout_s,
            population=population,
        )

    data = _run(action)
    if json_out:
        typer.echo(json.dumps(data, default=str))
    else:
        print_results(data)


def print_results(data: dict[str, Any]) -> None:
    """Two compact tables (business metrics; AI and feedback), then the verdict."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    business = Table(
        title=f"{data['experiment']} [{data['status']}] — {data['population']} traffic",
        title_justify="left",
    )
    for column in (
        "variant",
        "flows",
        "publish rate",
        "vs control",
        "time to publish",
        "vs control",
    ):
        business.add_column(column, no_wrap=column == "variant")
    ai_table = Table(title="AI and seller feedback", title_justify="left")
    for column in (
        "variant",
        "accepted",
        "👍 share",
        "errors",
        "empty",
        "p95",
        "cost/pub.",
        "eval",
    ):
        ai_table.add_column(column, no_wrap=column == "variant")
    for v in data["variants"]:
        pr, tp, ai = v["publish_rate"], v["time_to_publish"], v["ai"]
        vs = v.get("vs_control") or {}
        name = v["name"] + (" (ctl)" if v["control"] else "")
        name += " PAUSED" if v["status"] == "paused" else ""
        diff, times = vs.get("publish_rate"), vs.get("time_to_publish")
        business.add_row(
            name,
            f"{v['decided']}" + (f" +{v['in_progress']}" if v["in_progress"] else ""),
            f"{pr['value']:.1%}\n[{pr['ci_low']:.0%}–{pr['ci_high']:.0%}]"
            if pr["value"] is not None
            else "—",
            f"{diff['diff'] * 100:+.1f} pts\np={diff['p_value']:.2g}" if diff else "—",
            f"{_mins(tp['median_s'])} median\n{_mins(tp['mean_s'])} mean",
            f"{times['diff_mean_s'] / 60:+.1f} min\np={times['p_value']:.2g}" if times else "—",
        )
        calls = bool(ai.get("calls"))
        cost = ai.get("cost_per_published_usd")
        ai_table.add_row(
            name,
            _pct(v["fields"]["all"]["acceptance_rate"]),
            _pct(v["thumbs"]["up_share"]),
            f"{ai['error_rate']:.0%}" if calls else "—",
            f"{ai['empty_rate']:.0%}" if calls else "—",
            f"{ai['latency_p95_ms']:,.0f} ms" if calls else "—",
            f"${cost:.4f}" if calls and cost is not None else "—",
            _eval(v.get("eval")),
        )
    console.print(business)
    console.print(ai_table)
    srm = data["srm"]
    p_text = f" (p={srm['p_value']:.3g})" if srm["p_value"] is not None else ""
    console.print(f"Split check: {srm['note']}{p_text}")
    console.print(
        f"Needed: {data['required_per_arm']:,} finished flows per variant to see "
        f"±{data['min_effect'] * 100:g} points of publish rate."
    )
    for v in data["variants"]:
        if v["status"] == "paused":
            console.print(f"[red]{v['name']} paused[/red]: {v['paused_reason']}")
    console.print(f"[bold]{data['verdict']}[/bold]")


def _eval(found: dict[str, Any] | None) -> str:
    if not found or found.get("overall") is None:
        return "—"
    return f"{found['overall']:.2f}"


def _mins(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


@app.command("start")
def start_(name: str, json_out: JsonOpt = False) -> None:
    """Start a draft experiment (one running experiment per surface)."""
    data = _run(lambda session, _s: _summary(session, experiments.start(session, name)))
    typer.echo(json.dumps(data) if json_out else f"Started {name}.")


@app.command("ramp")
def ramp(
    name: str,
    weights: Annotated[
        list[str], typer.Argument(help="VARIANT=PERCENT… e.g. v2=50 (the control takes the rest)")
    ],
    reason: str = "",
    json_out: JsonOpt = False,
) -> None:
    """Change the split for new units; units already assigned keep their variant.

    Ramping a paused variant above 0 resumes it.
    """

    def action(session: Session, _s: Any) -> dict[str, Any]:
        parsed = experiments.parse_weights(weights)
        return _summary(session, experiments.ramp(session, name, parsed, reason=reason))

    data = _run(action)
    if json_out:
        typer.echo(json.dumps(data))
    else:
        _print_summary(data)


@app.command("stop")
def stop(name: str, reason: str = "", json_out: JsonOpt = False) -> None:
    """Stop: every seller gets the default prefill again; results stay readable."""
    data = _run(
        lambda session, _s: _summary(session, experiments.stop(session, name, reason=reason))
    )
    typer.echo(json.dumps(data) if json_out else f"Stopped {name}.")
