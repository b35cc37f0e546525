"""Settings: environment variables, and the refusal of a public secret in production."""

import pytest
from pydantic import ValidationError

from server.core.config import DEFAULT_SECRET_KEY, Settings


def test_reads_whistle_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISTLE_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("WHISTLE_STORAGE_DIR", "/srv/photos")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert str(settings.storage_dir) == "/srv/photos"


def test_default_is_sqlite_under_var() -> None:
    assert Settings().database_url == "sqlite:///var/whistle.db"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="WHISTLE_SECRET_KEY must be set"):
        Settings(env="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", secret_key="short")


def test_production_accepts_a_real_secret() -> None:
    assert Settings(env="production", secret_key="k" * 40).env == "production"


def test_refresh_tokens_outlive_a_month_offline() -> None:
    with pytest.raises(ValidationError):
        Settings(refresh_token_ttl_days=7)
