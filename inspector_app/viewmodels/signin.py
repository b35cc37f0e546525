"""Sign-in: check the form, sign in, and say clearly what went wrong.

:func:`sign_in` blocks on the network: the UI calls it off its thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from inspector_app.core.api_client import (
    Account,
    ApiError,
    NetworkError,
    Refused,
    RetryableError,
)
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message

TABLET_ROLES = frozenset({"inspector", "patrol"})


class SignInFailed(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message.msgid.format(**message.params))
        self.message = message


@dataclass(frozen=True)
class SignInForm:
    server: str
    username: str
    password: str

    def problems(self) -> list[Message]:
        found: list[Message] = []
        try:
            normalise_server_url(self.server)
        except SignInFailed as exc:
            found.append(exc.message)
        if not self.username.strip():
            found.append(Message(N_("Enter your user name.")))
        if not self.password:
            found.append(Message(N_("Enter your password.")))
        return found


def normalise_server_url(text: str) -> str:
    """'whistle.example.org' -> 'https://whistle.example.org'; refuses what is not a URL."""
    value = text.strip()
    if not value:
        raise SignInFailed(Message(N_("Enter the server address.")))
    if "://" not in value:
        value = "https://" + value
    value = value.rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise SignInFailed(
            Message(
                N_("The server address {url} is not valid (example: https://whistle.example.org)."),
                {"url": text.strip()},
            )
        )
    try:
        _ = parts.port
    except ValueError:
        raise SignInFailed(
            Message(N_("The server address {url} has a wrong port."), {"url": text.strip()})
        ) from None
    return value


def error_message(exc: Exception, *, server: str) -> Message:
    """What to tell the inspector about a failed sign-in."""
    if isinstance(exc, SignInFailed):
        return exc.message
    if isinstance(exc, NetworkError):
        return Message(
            N_(
                "Cannot reach the server {url}. Check the address and the network; "
                "if you signed in on this tablet before, you can keep working offline."
            ),
            {"url": server},
        )
    if isinstance(exc, RetryableError):
        if exc.status == 429:
            seconds = max(1, math.ceil(exc.retry_after_s or 60))
            return Message(
                N_(
                    "Too many failed attempts: the account is locked for now. "
                    "Try again in {seconds} seconds."
                ),
                {"seconds": seconds},
            )
        return Message(
            N_("The server is busy or has a problem (HTTP {status}). Try again in a moment."),
            {"status": exc.status or "?"},
        )
    if isinstance(exc, Refused):
        if exc.code == "invalid_credentials" or exc.status == 401:
            return Message(N_("Wrong user name or password."))
        if exc.code == "other_users_data" and isinstance(exc.details, dict):
            return Message(
                N_(
                    "This tablet still holds {count} unsynced item(s) recorded by {owner}. "
                    "Sign in as {owner} and sync them first."
                ),
                {"count": exc.details.get("unsynced", "?"), "owner": exc.details.get("owner")},
            )
        if exc.code in ("account_disabled", "user_disabled") or exc.status == 403:
            return Message(N_("This account is locked. Ask your supervisor to unlock it."))
        return Message(N_("The server refused the sign-in: {reason}"), {"reason": exc.message})
    if isinstance(exc, ApiError):
        return Message(N_("Sign-in failed: {reason}"), {"reason": exc.message})
    return Message(N_("Sign-in failed: {reason}"), {"reason": f"{type(exc).__name__}: {exc}"})


def role_problem(account: Account) -> Message | None:
    """Only grid workers and patrols report from the tablet (the server refuses others)."""
    if account.role in TABLET_ROLES:
        return None
    return Message(
        N_("The account {user} ({role}) cannot report from the tablet: use the web admin."),
        {"user": account.username, "role": account.role},
    )


__all__ = [
    "TABLET_ROLES",
    "SignInFailed",
    "SignInForm",
    "error_message",
    "normalise_server_url",
    "role_problem",
]
