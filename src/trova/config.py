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
