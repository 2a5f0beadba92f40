"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from trova.accounts import api as accounts_api
from trova.accounts import pages as accounts_pages
from trova.accounts.ratelimit import SlidingWindowLimiter
from trova.ai import api as ai_api
from trova.ai.retention import retention_worker
from trova.ai.warmup import warm_local_model
from trova.assistant import api as assistant_api
from trova.assistant import pages as assistant_pages
from trova.config import Settings
from trova.db.engine import make_engine
from trova.marketplace import api as marketplace_api
from trova.marketplace import pages as marketplace_pages
from trova.media.storage import LocalStorage, image_key
from trova.ops import api as ops_api
from trova.ops import pages as ops_pages
from trova.ops import queue_pages as ops_queue_pages
from trova.ops.metrics import RequestMetricsMiddleware
from trova.ops.metrics import router as ops_metrics_router
from trova.ops.workers import alert_evaluator, rollup_refresher
from trova.rollout import api as rollout_api
from trova.rollout import pages as rollout_pages
from trova.rollout.web import VisitorIdMiddleware
from trova.rollout.worker import rollout_worker
from trova.search.worker import index_worker
from trova.web.templating import make_templates, render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"

# Every room's routes: JSON API routers first, then HTML pages.
ROUTERS: list[APIRouter] = [
    accounts_api.router,
    marketplace_api.router,
    ai_api.router,
    assistant_api.router,
    ops_api.router,
    ops_metrics_router,
    rollout_api.router,
    accounts_pages.router,
    marketplace_pages.router,
    assistant_pages.router,
    ops_pages.router,
    ops_queue_pages.router,
    rollout_pages.router,
]

# Background workers started with the app (TROVA_RUN_WORKERS=false turns them off):
# async functions taking the app, running until cancelled.
WORKERS: list[Callable[[FastAPI], Coroutine[Any, Any, None]]] = [
    retention_worker,
    warm_local_model,
    rollup_refresher,
    alert_evaluator,
    rollout_worker,
    index_worker,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from settings (read from TROVA_* env vars when not given)."""
    settings = settings or Settings()
    settings.ensure_dirs()
    engine = make_engine(settings.db_url, echo=settings.sql_echo)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if settings.run_workers:
            tasks = [
                asyncio.create_task(worker(app), name=worker.__qualname__) for worker in WORKERS
            ]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        engine.dispose()

    app = FastAPI(
        title="Trova",
        summary="Classifieds marketplace API: listings, photos, messages.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.storage = LocalStorage(settings.images_dir)
    app.state.templates = make_templates()
    app.state.login_limiter = SlidingWindowLimiter(settings.login_attempts, settings.login_window_s)
    app.state.prefill_limiter = SlidingWindowLimiter(settings.prefill_rate_limit, 3600)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie="trova_session",
        max_age=14 * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(RequestMetricsMiddleware)  # ops: request counters/latency for /metrics
    app.add_middleware(VisitorIdMiddleware)  # rollout: anonymous visitor id cookie (trova_vid)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for router in ROUTERS:
        app.include_router(router)

    @app.get("/media/{photo_id}/{variant}.jpg", include_in_schema=False)
    def media(photo_id: str, variant: str) -> Response:
        if variant not in ("full", "card", "thumb") or not photo_id.isalnum():
            raise HTTPException(404, "No such image.")
        path = app.state.storage.path(image_key(photo_id, variant))
        if not path.is_file():
            raise HTTPException(404, "No such image.")
        return FileResponse(
            path,
            media_type="image/jpeg",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_error_handlers(app)
    return app


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/media/", "/static/")) or path in ("/docs", "/openapi.json"):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if wants_html(request):
            if exc.status_code == 401:
                from fastapi.responses import RedirectResponse

                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return render(
                request,
                "error.html",
                status_code=exc.status_code,
                status=exc.status_code,
                message=exc.detail,
            )
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(
                str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")
            )
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "Invalid request — " + "; ".join(problems[:5])
        if wants_html(request):
            return render(request, "error.html", status_code=422, status=422, message=message)
        return JSONResponse({"detail": message, "errors": _jsonable(exc.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. Please try again."
        if wants_html(request):
            return render(request, "error.html", status_code=500, status=500, message=message)
        return JSONResponse({"detail": message}, status_code=500)


def _jsonable(errors: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("latin-1")})
