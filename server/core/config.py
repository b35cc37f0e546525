"""Settings, read from environment variables prefixed WHISTLE_ (pydantic-settings)."""

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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

    # A tablet whose refresh response was lost retries with the old token: within this
    # window, and if the new token was never used, that is a retry, not a theft.
    refresh_retry_grace_s: int = Field(default=120, ge=0)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=60, ge=1)

    upload_max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    upload_expiry_hours: int = Field(default=72, ge=1)
    # POST /photos/batch: the whole multipart body at most this (the tablet sends ~6 MiB).
    photo_batch_max_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)

    # At most this many requests use the database at once (server/core/admission.py);
    # the connection pool keeps twice as many connections, so an admitted request never
    # waits for one. A request not admitted within db_admission_wait_s gets 503.
    db_pool_size: int = Field(default=10, ge=1)
    db_admission_wait_s: float = Field(default=15.0, gt=0)

    # The dashboard and GET /indicators keep a computed answer this long for the same
    # scope and filters (server/reports/cache.py); 0 turns the cache off.
    indicator_cache_ttl_s: float = Field(default=60.0, ge=0)

    # GET /devices flags a device "silent" when it has not pushed for this many hours.
    device_silent_after_h: int = Field(default=24, ge=1)

    # Web admin: the map's tile server ({z}/{x}/{y} template; an intranet mirror offline)
    # and the time zone dates are shown and entered in.
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_tile_attribution: str = "© OpenStreetMap contributors"
    admin_timezone: str = "Asia/Shanghai"

    # Duplicate candidates while triaging: open cases of the same category this close
    # (metres) and reported within this many days of each other.
    duplicate_radius_m: float = Field(default=50.0, gt=0, le=5000)
    duplicate_window_days: int = Field(default=30, ge=1, le=3650)

    # Photo storage: "local" (under storage_dir) or "s3" (any S3-compatible service).
    # Partial tus uploads always live under storage_dir/partial (shared by every host).
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # Unset: boto3's usual credential chain (environment, instance role, ...).
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "WHISTLE_SECRET_KEY must be set in production (the default is public); "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("WHISTLE_S3_BUCKET must be set when WHISTLE_STORAGE_BACKEND=s3")
        if self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("WHISTLE_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@cache
def get_settings() -> Settings:
    return Settings()
