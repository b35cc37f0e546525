"""Settings, read from environment variables prefixed WHISTLE_ (pydantic-settings)."""

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "development-only-secret-change-me"  # noqa: S105 - refused in production
VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WHISTLE_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = f"sqlite:///{VAR_DIR / 'whistle.db'}"
    storage_dir: Path = VAR_DIR / "photos"
    secret_key: str = DEFAULT_SECRET_KEY

    access_token_ttl_s: int = Field(default=15 * 60, ge=30)
    # Tablets stay offline for days: a refresh token must outlive a long field trip.
    refresh_token_ttl_days: int = Field(default=60, ge=30)

    # Argon2id cost (argon2-cffi's RFC 9106 low-memory profile by default; tests lower it).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=60, ge=1)

    upload_max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    upload_expiry_hours: int = Field(default=72, ge=1)

    # Pool sizing for server databases (ignored by SQLite).
    db_pool_size: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "WHISTLE_SECRET_KEY must be set in production (the default is public); "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("WHISTLE_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@cache
def get_settings() -> Settings:
    return Settings()
