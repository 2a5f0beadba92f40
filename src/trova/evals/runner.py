"""Eval runs: every case of a dataset version through the real prefill pipeline, concurrently.

Each case goes through `trova.ai.prefill.prefill` — the same provider, timeout/retry, repair
and safety code the create form uses — with a one-provider chain (no silent fallback). By
default prefill runs against a throwaway *sandbox* database: its ai_calls rows never reach
production stats, and comparables pricing sees no listings, so results do not depend on what
the app database holds (the demo catalogue contains the starter photos: that would leak the
answer). `live=True` runs against the app database instead and marks its ai_calls rows
`surface="eval"`.

Results are written as they arrive, so a run stopped with Ctrl-C keeps what it finished and is
stored with status "interrupted".
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.ai.models import AICall
from trova.ai.prefill import prefill
from trova.ai.providers import ProviderConfigError, get_provider, parse_chain
from trova.ai.registry import PromptNotFound, PromptVersion, resolve
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.evals import store
from trova.evals.datasets import LoadedCase, VersionRef, load_cases
from trova.evals.metrics import score_case
from trova.evals.models import EvalResult, EvalRun
from trova.media import intake
from trova.media.intake import ImageRejected, normalize

RAW_OUTPUT_LIMIT = 20_000


class EvalError(Exception):
    """A run could not start; the message is one sentence for the CLI."""


@dataclass
class RunOptions:
    provider: str
    prompt: str | None = None
    concurrency: int = 8
    trials: int = 1
    retries: int | None = None  # overrides settings.prefill_retries for this run
    timeout_s: float | None = None  # overrides settings.prefill_timeout_s
    label: str | None = None
    live: bool = False
    limit: int | None = None  # only the first N cases (by key): quick smoke runs


@dataclass
class PreparedRun:
    run_id: str
    version: VersionRef
    prompt: PromptVersion
    chain: list[str]
    settings: Settings
    options: RunOptions
    cases: list[LoadedCase]
    images: dict[str, bytes | ImageRejected] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.cases) * self.options.trials


ProgressFn = Callable[[int, int], None]


def code_version() -> str | None:
    """The git commit of this checkout (+ "-dirty" with uncommitted changes), if git knows."""
    repo = Path(__file__).resolve().parents[3]
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha or None


def prepare(
    engine: Engine, settings: Settings, version: VersionRef, options: RunOptions
) -> PreparedRun:
    """Check the options, load the cases and store the run row (status "running")."""
    if options.concurrency < 1 or options.trials < 1:
        raise EvalError("--concurrency and --trials must be at least 1.")
    chain = parse_chain(options.provider)
    if not chain:
        raise EvalError("Give a provider, e.g. --provider local or --provider openai:gpt-4o-mini.")
    try:
        for spec in chain:
            get_provider(spec, settings)
    except ProviderConfigError as exc:
        raise EvalError(str(exc)) from None
    overrides: dict[str, Any] = {}
    if options.retries is not None:
        overrides["prefill_retries"] = options.retries
    if options.timeout_s is not None:
        overrides["prefill_timeout_s"] = options.timeout_s
    run_settings = settings.model_copy(update=overrides)
    with Session(engine) as session:
        try:
            prompt = resolve(options.prompt or settings.prefill_prompt, session)
        except PromptNotFound as exc:
            raise EvalError(str(exc)) from None
        cases = load_cases(session, version.version_id)
        if options.limit:
            cases = cases[: options.limit]
        run = EvalRun(
            label=options.label,
            dataset_name=version.dataset,
            dataset_version_id=version.version_id,
            dataset_version_number=version.number,
            provider_spec=" -> ".join(chain),
            provider=chain[0].partition(":")[0],
            prompt_name=prompt.name,
            prompt_version=prompt.version,
            prompt_hash=prompt.content_hash,
            code_version=code_version(),
            settings={
                "prefill_timeout_s": run_settings.prefill_timeout_s,
                "prefill_retries": run_settings.prefill_retries,
                "prefill_backoff_s": run_settings.prefill_backoff_s,
                "model_image_side": run_settings.model_image_side,
                "llm_max_tokens": run_settings.llm_max_tokens,
                "local_ocr": run_settings.local_ocr,
                "database": "live" if options.live else "sandbox",
                "limit": options.limit,
            },
            concurrency=options.concurrency,
            trials=options.trials,
            n_cases=len(cases),
        )
        session.add(run)
        session.commit()
        run_id = run.id
    return PreparedRun(run_id, version, prompt, chain, run_settings, options, cases)


def _normalize(settings: Settings, data: bytes) -> bytes | ImageRejected:
    """The photo as the upload intake stores it: what prefill gets in production.

    Equal to `normalize(...).data`, without the thumbnails an upload also makes (they are ~90%
    of normalize's time and prefill never sees them); falls back to `normalize` if the intake
    module's steps change shape.
    """
    limits = {
        "max_bytes": settings.max_upload_bytes,
        "max_pixels": settings.max_image_pixels,
        "min_side": settings.min_image_side,
    }
    try:
        try:
            decoded = intake._checked_decode(data, side=intake.DEFAULT_MAX_SIDE, **limits)
            return intake._encode_jpeg(intake._finish(decoded, intake.DEFAULT_MAX_SIDE))
        except (AttributeError, TypeError):
            return normalize(data, **limits).data
    except ImageRejected as exc:
        return exc


def _sandbox() -> tuple[Engine, Path]:
    from trova.db.tables import metadata

    folder = Path(tempfile.mkdtemp(prefix="trova-eval-"))
    engine = make_engine(f"sqlite:///{folder / 'sandbox.db'}")
    with engine.begin() as conn:  # every room's tables: prefill may grow new lookups
        metadata.create_all(conn)
    return engine, folder


def _attach_calls(prefill_engine: Engine, rows: list[EvalResult], live: bool) -> None:
    """Copy cost, tokens, attempts, model and raw output from the batch's ai_calls rows (one
    query per batch); in live runs also mark those rows `surface="eval"`."""
    ids = [row.ai_call_id for row in rows if row.ai_call_id]
    if not ids:
        return
    with Session(prefill_engine) as session:
        calls = {c.id: c for c in session.exec(select(AICall).where(col(AICall.id).in_(ids)))}
        for row in rows:
            call = calls.get(row.ai_call_id or "")
            if call is None:
                continue
            row.cost_usd, row.tokens_in, row.tokens_out = (
                call.cost_usd,
                call.tokens_in,
                call.tokens_out,
            )
            row.attempts, row.model, row.error = call.attempts, call.model, call.error
            row.latency_ms = call.latency_ms or row.latency_ms
            row.raw_output = (call.raw_output or "")[:RAW_OUTPUT_LIMIT] or None
            if live:
                call.surface = "eval"  # keep eval traffic out of production dashboards
                session.add(call)
            else:
                row.ai_call_id = None  # the sandbox row is gone after the run
        if live:
            session.commit()


async def _one(
    prepared: PreparedRun, prefill_engine: Engine, case: LoadedCase, trial: int
) -> EvalResult:
    image = prepared.images.get(case.key)
    if image is None:  # intake runs per case, overlapping other cases' provider calls
        image = prepared.images[case.key] = await asyncio.to_thread(
            _normalize, prepared.settings, case.image
        )
    row = EvalResult(run_id=prepared.run_id, case_key=case.key, trial=trial, status="error")
    gold, crit = case.spec.gold.model_dump(mode="json"), case.spec.criticality
    if isinstance(image, ImageRejected):
        row.error = f"image rejected by intake: {image.message}"
        row.scores = score_case(gold, crit, None, status="error")
        return row
    started = time.perf_counter()
    try:
        result = await prefill(
            prefill_engine,
            prepared.settings,
            image,
            image_sha256=case.image_sha256,
            providers=prepared.chain,
            prompt=prepared.prompt,
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in the pipeline: record it on the case, keep going
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        row.latency_ms = round((time.perf_counter() - started) * 1000)
        row.scores = score_case(gold, crit, None, status="error")
        return row
    draft = result.draft.model_dump(mode="json") if result.status.value == "ok" else None
    row.status = result.status.value
    row.draft = draft
    row.flags = result.flags or None
    row.latency_ms = round((time.perf_counter() - started) * 1000)
    row.ai_call_id = result.ai_call_id  # cost etc. are filled in per batch (_attach_calls)
    row.scores = score_case(gold, crit, draft, status=row.status, flags=result.flags)
    return row


def _save(
    engine: Engine, prepared: PreparedRun, prefill_engine: Engine, rows: list[EvalResult], done: int
) -> None:
    _attach_calls(prefill_engine, rows, prepared.options.live)
    run_id = prepared.run_id
    with Session(engine) as session:
        for row in rows:
            session.add(row)
        run = session.get(EvalRun, run_id)
        if run is not None:
            run.n_done = done
            session.add(run)
        session.commit()


def finish(
    engine: Engine, run_id: str, status: str, wall_s: float, error: str | None = None
) -> EvalRun:
    """Compute metrics from the stored results and close the run."""
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(EvalRun, run_id)
        assert run is not None
        rows = store.results(session, run_id)
        models = Counter(r.model for r in rows if r.model)
        run.model = models.most_common(1)[0][0] if models else run.model
        run.metrics, run.spread = store.compute_metrics(session, run)
        run.spread = run.spread or None
        run.n_done = len(rows)
        run.cost_usd = round(sum(r.cost_usd for r in rows), 6)
        run.status, run.error = status, error
        run.wall_s = round(wall_s, 3)
        run.finished_at = utcnow()
        session.add(run)
        session.commit()
        return run


async def execute(
    engine: Engine, prepared: PreparedRun, on_progress: ProgressFn | None = None
) -> EvalRun:
    """Run every (case, trial) with at most `concurrency` in flight; store results as they come.

    Cancelling (Ctrl-C under asyncio.run) stores what finished and marks the run interrupted.
    """
    started = time.perf_counter()
    if "local" in prepared.chain:
        # Load the local model before the first case, so its one-off start-up (ONNX export,
        # session planning: seconds) does not land in one case's latency and skew p95.
        from trova.ai.providers.local import LocalProvider

        await asyncio.to_thread(LocalProvider(prepared.settings).recognizer)
    if prepared.options.live:
        prefill_engine, sandbox_dir = engine, None
    else:
        prefill_engine, sandbox_dir = await asyncio.to_thread(_sandbox)
    work = iter(
        [(case, trial) for trial in range(prepared.options.trials) for case in prepared.cases]
    )
    pending: list[EvalResult] = []
    done = 0
    flush_at = max(8, prepared.options.concurrency)
    lock = asyncio.Lock()

    async def flush() -> None:
        async with lock:
            batch = pending[:]
            del pending[:]
            if batch:
                await asyncio.to_thread(_save, engine, prepared, prefill_engine, batch, done)

    async def worker() -> None:
        nonlocal done
        for case, trial in work:
            row = await _one(prepared, prefill_engine, case, trial)
            pending.append(row)
            done += 1
            if on_progress is not None:
                on_progress(done, prepared.total)
            if len(pending) >= flush_at:
                await flush()

    status, error = "failed", None
    try:
        n = min(prepared.options.concurrency, max(1, prepared.total))
        await asyncio.gather(*(worker() for _ in range(n)))
        status = "completed"
    except asyncio.CancelledError:
        status = "interrupted"
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        if pending:
            _save(engine, prepared, prefill_engine, pending, done)
        run = finish(engine, prepared.run_id, status, time.perf_counter() - started, error)
        if sandbox_dir is not None:
            prefill_engine.dispose()
            shutil.rmtree(sandbox_dir, ignore_errors=True)
    return run


def run_sync(
    engine: Engine,
    settings: Settings,
    version: VersionRef,
    options: RunOptions,
    on_progress: ProgressFn | None = None,
) -> EvalRun:
    """prepare + execute for scripts and benchmarks (Ctrl-C -> KeyboardInterrupt, run stored)."""
    prepared = prepare(engine, settings, version, options)
    return asyncio.run(execute(engine, prepared, on_progress))


def summary(run: EvalRun) -> dict[str, Any]:
    """The `--json` shape of a run."""
    return {
        "run_id": run.id,
        "status": run.status,
        "dataset": f"{run.dataset_name}@v{run.dataset_version_number}",
        "dataset_version_id": run.dataset_version_id,
        "provider": run.provider_spec,
        "model": run.model,
        "prompt": f"{run.prompt_name}@{run.prompt_version}",
        "prompt_hash": run.prompt_hash,
        "code_version": run.code_version,
        "label": run.label,
        "n_cases": run.n_cases,
        "n_done": run.n_done,
        "trials": run.trials,
        "wall_s": run.wall_s,
        "metrics": run.metrics or {},
        "spread": run.spread or {},
    }


def existing_run(engine: Engine, run_id: str) -> EvalRun | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(EvalRun).where(EvalRun.id == run_id)).first()
