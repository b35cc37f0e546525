"""Password hashing with Argon2id (argon2-cffi: maintained, the OWASP first choice)."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.config import Settings


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)


def hash_password(password: str, settings: Settings) -> str:
    return hasher_for(settings).hash(password)


def verify_password(password_hash: str, password: str, settings: Settings) -> bool:
    try:
        return hasher_for(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("no-such-user-dummy-password")


def burn_verify_time(settings: Settings) -> None:
    """Spend the time a real verification would, so an unknown user name answers as
    slowly as a wrong password and timing does not reveal which names exist."""
    verify_password(
        _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_kib), "x", settings
    )
