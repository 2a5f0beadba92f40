"""`trova simulate`: synthetic sellers drive the real create flow over HTTP — a SIMULATION.

Each synthetic seller registers, opens /sell, uploads a demo photo, gets the form (pre-filled
or not, as their assigned variant says), fixes what is wrong compared with the catalogue's
truth for that photo, rates the suggestions, and publishes — or gives up. Every request carries
`X-Trova-Simulation: <run id>` (its events are tagged simulated, left out of real results) and
`X-Trova-Sim-Clock` (a virtual clock, so minutes of form filling take milliseconds).

By default the app runs in-process (httpx ASGI transport, same database); `--base-url` drives a
running server instead, which must share this database (TROVA_DATABASE_URL): the experiment
set-up and the results are read from it.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

import httpx
import typer
from sqlmodel import Session

from trova.db._time import utcnow
from trova.rollout import _simseller, experiments, results
from trova.rollout._htmlform import read_form
from trova.rollout.experiments import ExperimentError, VariantSpec
from trova.rollout.web import SIM_CLOCK_HEADER, SIM_HEADER

app = typer.Typer(
    help="Simulated sellers through the real create flow (a demo, tagged simulated).",
    subcommand_metavar="",
)

ARRIVAL_GAP_S = 45.0  # virtual seconds between two sellers starting
_DETAILS = re.compile(r"/sell/(\d+)/details")


def catalogue_items() -> list[dict[str, Any]]:
    from trova.demo.loader import catalogue

    return [item for item in catalogue()["listings"] if item.get("photos")]


@dataclass
class SellerResult:
    outcome: str  # published | abandoned | failed
    prefilled: bool = False
    error: str | None = None


class Seller:
    """One synthetic seller with their own cookies and a virtual clock."""

    def __init__(
        self, client: httpx.AsyncClient, run_id: str, start: datetime, rng: random.Random
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.clock = start
        self.rng = rng

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            SIM_HEADER: self.run_id,
            SIM_CLOCK_HEADER: f"{self.clock.timestamp():.3f}",
            "Accept": "text/html",
            **(extra or {}),
        }

    def wait(self, seconds: float) -> None:
        self.clock += timedelta(seconds=max(0.0, seconds))

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = self._headers(kw.pop("headers", None))
        response = await self.client.request(method, url, headers=headers, **kw)
        if response.status_code >= 500:
            raise RuntimeError(f"{method} {url}: HTTP {response.status_code}")
        return response

    async def run(self, index: int, item: dict[str, Any], photo: bytes) -> SellerResult:
        email = f"sim-{self.run_id}-{index}@example.com"
        r = await self.request(
            "POST",
            "/api/auth/register",
            json={"email": email, "password": "simulated-seller", "name": f"Sim Seller {index}"},
            headers={"Accept": "application/json"},
        )
        if r.status_code != 201:
            return SellerResult("failed", error=f"register: HTTP {r.status_code}")
        page = await self.request("GET", "/sell")
        csrf = read_form(page.text).csrf or ""
        self.wait(self.rng.uniform(8, 25))  # pick a photo
        r = await self.request(
            "POST",
            "/sell",
            data={"csrf_token": csrf},
            files=[("photos", (item["photos"][0], photo, "image/jpeg"))],
        )
        match = _DETAILS.search(r.headers.get("location", ""))
        if r.status_code != 303 or not match:
            return SellerResult("failed", error=f"upload: HTTP {r.status_code}")
        listing_id = match.group(1)
        details = await self.request("GET", f"/sell/{listing_id}/details")
        html = details.text
        prefilled = f"/sell/{listing_id}/prefill" in html
        if prefilled:
            self.wait(self.rng.uniform(1.5, 4))  # the AI reads the photo
            html = (await self.request("GET", f"/sell/{listing_id}/prefill")).text
        form = read_form(html)
        csrf = form.csrf or csrf
        shown = {k: v for k, v in form.values.items() if k in _simseller.TYPE_S}
        plan = _simseller.plan(shown, item, self.rng)
        ajax = {"X-CSRF-Token": csrf}
        if plan.thumbs and form.values.get("ai_call_id"):
            self.wait(self.rng.uniform(2, 6))
            await self.request(
                "POST",
                "/rollout/feedback",
                data={
                    "ai_call_id": form.values["ai_call_id"],
                    "rating": plan.thumbs,
                    "feedback_comment": plan.comment or "",
                },
                headers=ajax,
            )
        step = plan.effort_s / max(1, len(plan.edited) + 2)
        stop_after = self.rng.randint(0, len(plan.edited)) if plan.abandon else len(plan.edited)
        for name in plan.edited[:stop_after]:
            self.wait(step)
            await self.request(
                "POST",
                "/rollout/events",
                json={"type": "field_edited", "listing_id": int(listing_id), "field": name},
                headers={**ajax, "Accept": "application/json"},
            )
        if plan.abandon:
            return SellerResult("abandoned", prefilled)
        self.wait(step)
        data = {**plan.values, "csrf_token": csrf}
        if form.values.get("ai_call_id"):
            data["ai_call_id"] = form.values["ai_call_id"]
        r = await self.request("POST", f"/sell/{listing_id}/details", data=data)
        if r.status_code != 303:
            return SellerResult("failed", prefilled, f"details: HTTP {r.status_code}")
        self.wait(step)
        r = await self.request("POST", f"/sell/{listing_id}/publish", data={"csrf_token": csrf})
        if r.status_code != 303:
            return SellerResult("failed", prefilled, f"publish: HTTP {r.status_code}")
        return SellerResult("published", prefilled)


def ensure_experiment(
    session: Session, name: str | None, ai_provider: str
) -> experiments.ExperimentView:
    """The named experiment (started if in draft), the running one, or a new 50/50 one."""
    if name:
        view = experiments.get(session, name)
        if view.experiment.status == "draft":
            view = experiments.start(session, name)
        elif view.experiment.status != "running":
            raise ExperimentError(f"Experiment {name!r} is {view.experiment.status}, not running.")
        return view
    current = experiments.running(session)
    if current is not None:
        return current
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    kind = ai_provider.partition(":")[0]
    new = f"sim-{kind}-vs-off-{stamp}"
    experiments.create(
        session,
        new,
        [VariantSpec("off", "off"), VariantSpec(kind, ai_provider)],
        description=f"Started by `trova simulate`: {ai_provider} vs no AI, 50/50.",
    )
    return experiments.start(session, new)


async def drive(
    base_url: str | None,
    settings: Any,
    sellers: int,
    *,
    run_id: str,
    seed: int,
    concurrency: int,
    on_done: Any = None,
) -> list[SellerResult]:
    """Run the synthetic sellers; returns one result each."""
    rng = random.Random(seed)
    items = catalogue_items()
    photos_dir = files("trova.demo").joinpath("photos")
    photo_cache: dict[str, bytes] = {}
    span = sellers * ARRIVAL_GAP_S
    # The virtual clock ends before now minus the abandonment timeout: every flow is finished
    # (published or abandoned) when the results are read.
    start = utcnow() - timedelta(seconds=settings.rollout_abandon_timeout_s + span + 3600)
    # One transport per seller: a client closes its transport when it is done.
    transport: Callable[[], httpx.AsyncBaseTransport]
    if base_url:
        url = base_url.rstrip("/")

        def transport() -> httpx.AsyncBaseTransport:
            return httpx.AsyncHTTPTransport(retries=1)
    else:
        from trova.app import create_app

        asgi_app = create_app(settings)
        url = "http://testserver"

        def transport() -> httpx.AsyncBaseTransport:
            return httpx.ASGITransport(app=asgi_app)

    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> SellerResult:
        item = items[rng.randrange(len(items))]
        seller_rng = random.Random(rng.random())
        name = item["photos"][0]
        if name not in photo_cache:
            photo_cache[name] = photos_dir.joinpath(name).read_bytes()
        async with (
            gate,
            httpx.AsyncClient(
                transport=transport(), base_url=url, timeout=120, follow_redirects=False
            ) as client,
        ):
            seller = Seller(
                client, run_id, start + timedelta(seconds=i * ARRIVAL_GAP_S), seller_rng
            )
            try:
                result = await seller.run(i, item, photo_cache[name])
            except (httpx.HTTPError, RuntimeError) as exc:
                result = SellerResult("failed", error=f"{type(exc).__name__}: {exc}"[:200])
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(i) for i in range(sellers))))


@app.callback(invoke_without_command=True)
def simulate(
    sellers: Annotated[int, typer.Option(min=1, max=100_000, help="Synthetic sellers")] = 100,
    base_url: Annotated[
        str | None, typer.Option(help="Drive a running server (default: in-process)")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="Experiment to drive (default: the running one, or new)")
    ] = None,
    ai_provider: Annotated[
        str, typer.Option(help="AI arm of the experiment started when none runs")
    ] = "local",
    seed: int = 0,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """SIMULATION: synthetic sellers through the real create flow, then the results.

    With no running experiment it starts a 50/50 `local` vs `off` one. Simulated events are
    tagged and left out of real results (see them with `trova experiments show NAME
    --population simulated`).
    """
    from trova.cli import _quiet_upgrade, fail, load_settings
    from trova.db.engine import make_engine

    settings = load_settings()
    if not base_url:
        settings = settings.model_copy(update={"run_workers": False})
    _quiet_upgrade(settings)
    engine = make_engine(settings.db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                experiments.check_provider(ai_provider)
                view = ensure_experiment(session, experiment, ai_provider)
            except ExperimentError as exc:
                raise fail(str(exc), 2) from None
        name = view.experiment.name
        run_id = uuid.uuid4().hex[:10]
        started = time.perf_counter()
        if not json_out:
            typer.echo(f"SIMULATION {run_id}: {sellers} synthetic sellers on experiment {name}")
        outcomes = _drive_with_progress(
            base_url, settings, sellers, run_id, seed, concurrency, show=not json_out
        )
        elapsed = time.perf_counter() - started
        with Session(engine, expire_on_commit=False) as session:
            data = results.compute(
                session,
                experiments.get(session, name),
                abandon_timeout_s=settings.rollout_abandon_timeout_s,
                population=results.Population.simulated,
            )
    finally:
        engine.dispose()
    counts = Counter(r.outcome for r in outcomes)
    errors = Counter(r.error for r in outcomes if r.error)
    summary = {
        "simulation": True,
        "run_id": run_id,
        "experiment": name,
        "sellers": sellers,
        "published": counts["published"],
        "abandoned": counts["abandoned"],
        "failed": counts["failed"],
        "errors": dict(errors.most_common(5)),
        "seconds": round(elapsed, 2),
        "results": data,
    }
    if json_out:
        typer.echo(json.dumps(summary, default=str))
    else:
        from trova.rollout.cli import print_results

        typer.echo(
            f"{counts['published']} published, {counts['abandoned']} abandoned, "
            f"{counts['failed']} failed in {elapsed:.1f} s"
        )
        for error, n in errors.most_common(3):
            typer.echo(f"  {n}× {error}", err=True)
        print_results(data)
    if counts["failed"] == sellers:
        raise typer.Exit(1)


def _run(coro: Callable[[], Coroutine[Any, Any, list[SellerResult]]]) -> list[SellerResult]:
    """asyncio.run, in a thread of its own when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro())).result()


def _drive_with_progress(
    base_url: str | None,
    settings: Any,
    sellers: int,
    run_id: str,
    seed: int,
    concurrency: int,
    *,
    show: bool,
) -> list[SellerResult]:
    from rich.progress import Progress

    def go(on_done: Callable[[SellerResult], None] | None = None) -> list[SellerResult]:
        return _run(
            lambda: drive(
                base_url,
                settings,
                sellers,
                run_id=run_id,
                seed=seed,
                concurrency=concurrency,
                on_done=on_done,
            )
        )

    if not show:
        return go()
    with Progress(transient=True) as progress:
        task = progress.add_task("synthetic sellers", total=sellers)
        return go(lambda _r: progress.advance(task))
