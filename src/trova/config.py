"""Settings: every knob is a TROVA_* environment variable (or a line in .env)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        return self.data_dir / "models"

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
