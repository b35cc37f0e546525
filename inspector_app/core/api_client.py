"""The tablet's HTTP client for the Whistle API: sign-in, tokens, errors by retry class.

Tokens live in the store's ``kv`` table (``auth``), with the signed-in account
(``account``), the server (``server_url``) and this tablet's id (``device_id``, made once),
so a restarted app stays signed in while offline.

Every failure is one of four exceptions, by what the caller should do:

* :class:`NetworkError` - connect, read, timeout, protocol errors: retry with backoff;
* :class:`RetryableError` - 5xx, 429, 423 (and 408): retry with backoff (``retry_after_s``);
* :class:`AuthRequired` - the refresh token was refused: stop, keep the data, sign in again;
* :class:`Refused` - any other 4xx: the server's code and message, not retried blindly.

A 401 on a request refreshes the tokens once (one refresh for all threads that hit it at
the same time) and repeats the request.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from inspector_app.core.schema import KV_OWNER
from inspector_app.core.store import Store

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
KV_SERVER = "server_url"
KV_AUTH = "auth"
KV_ACCOUNT = "account"
KV_DEVICE = "device_id"
KV_CURSOR = "pull_cursor"
# KV_OWNER (schema.py): the user whose captures are in this store. Kept across sign-outs
# (unlike KV_ACCOUNT): a different user must not sign in while that data is unsynced, or
# it would be pushed, and attributed, under the wrong account. Each report is stamped with
# it, and My reports lists the signed-in owner's only.
KV_AREAS_FETCHED = "areas_fetched"  # GET /areas done for the signed-in user
# Refresh tokens of sign-outs the server has not heard of (the tablet was offline): the
# sign-in is ended on the server before the next one (ApiClient.finish_pending_logouts).
KV_PENDING_LOGOUTS = "pending_logouts"
RETRYABLE_STATUSES = frozenset({408, 423, 425, 429})


class ApiError(Exception):
    """A failed request: ``status`` (None without an HTTP answer), ``code``, ``message``."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "error",
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def __str__(self) -> str:
        where = f"HTTP {self.status} " if self.status is not None else ""
        return f"{where}{self.code}: {self.message}"


class NetworkError(ApiError):
    """No usable answer (connect, read, timeout, protocol, garbled body): retry later."""


class RetryableError(ApiError):
    """The server is busy or failing (5xx, 429, 423): retry after a backoff."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class AuthRequired(ApiError):
    """The sign-in ended (refresh refused, or never signed in): sign in again."""


class Refused(ApiError):
    """A 4xx other than 401/408/423/429: the request itself was refused."""


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    display_name: str
    role: str
    areas: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_user_info(cls, user: dict[str, Any]) -> Account:
        return cls(
            user_id=str(user["id"]),
            username=str(user["username"]),
            display_name=str(user.get("display_name") or user["username"]),
            role=str(user["role"]),
            areas=[dict(a) for a in user.get("areas") or []],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "areas": self.areas,
        }


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, moment.timestamp() - current)


def _envelope(response: httpx.Response) -> tuple[str, str, Any]:
    """(code, message, details) from the error envelope, or made up from the status."""
    try:
        body = response.json()
        error = body["error"]
        return str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError):
        reason = response.reason_phrase or "error"
        return f"http_{response.status_code}", f"{reason} (HTTP {response.status_code})", None


def error_for(response: httpx.Response) -> ApiError:
    """The exception for a non-2xx response (401 included, as AuthRequired)."""
    status = response.status_code
    code, message, details = _envelope(response)
    headers = dict(response.headers)
    kw: dict[str, Any] = {"status": status, "code": code, "details": details, "headers": headers}
    if status >= 500 or status in RETRYABLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RetryableError(message, retry_after_s=retry_after, **kw)
    if status == 401:
        return AuthRequired(message, **kw)
    return Refused(message, **kw)


def json_body(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a garbled body is a NetworkError (retry)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError(
            f"the server's answer was cut off or garbled ({exc})", code="bad_response"
        ) from exc


class ApiClient:
    """Requests to one Whistle server on behalf of the tablet's signed-in user."""

    def __init__(
        self,
        *,
        store: Store,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.store = store
        url = base_url or store.kv_get(KV_SERVER)
        if not url:
            raise ValueError("no server is set: give the server URL (e.g. --server)")
        self.base_url = str(url).rstrip("/")
        self.device_id = self._ensure_device_id()
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            headers={"User-Agent": "whistle-tablet"},
        )
        self._refresh_lock = threading.Lock()

    # ------------------------------------------------------------ tokens in the store
    def _ensure_device_id(self) -> str:
        """This tablet's id: made once (a UUID), kept in the store forever."""
        existing = self.store.kv_get(KV_DEVICE)
        if existing:
            return str(existing)
        with self.store.transaction() as tx:
            row = tx.execute("SELECT value FROM kv WHERE key = ?", (KV_DEVICE,)).fetchone()
            if row is not None:
                return str(json.loads(row[0]))
            made = str(uuid.uuid4())
            tx.kv_set(KV_DEVICE, made)
            return made

    def _tokens(self) -> dict[str, Any] | None:
        value = self.store.kv_get(KV_AUTH)
        return value if isinstance(value, dict) and value.get("access_token") else None

    def _save_tokens(self, body: dict[str, Any]) -> None:
        with self.store.transaction() as tx:
            tx.kv_set(
                KV_AUTH,
                {
                    "access_token": body["access_token"],
                    "refresh_token": body["refresh_token"],
                    "expires_in": body.get("expires_in"),
                    "saved_at": datetime.now(UTC).isoformat(),
                },
            )
            if isinstance(body.get("user"), dict):
                tx.kv_set(KV_ACCOUNT, Account.from_user_info(body["user"]).to_json())

    @property
    def signed_in(self) -> bool:
        return self._tokens() is not None

    def cached_account(self) -> Account | None:
        """The account of the last sign-in while its tokens are kept (works offline)."""
        if not self.signed_in:
            return None
        data = self.store.kv_get(KV_ACCOUNT)
        return Account.from_user_info(data) if isinstance(data, dict) else None

    # ------------------------------------------------------------ sign-in
    def login(self, *, username: str, password: str) -> Account:
        """Sign in; stores the server, the tokens and the account. Refused on bad
        credentials (code ``invalid_credentials``), RetryableError when throttled."""
        self._refuse_other_user_with_unsynced_data(username)
        # First end the sign-ins signed out offline. Before, not after: the server's
        # sign-out ends every sign-in of that user on this device, the new one included.
        try:
            self.finish_pending_logouts()
        except ApiError as exc:  # never in the way of signing in
            log.info("pending logouts left for later: %s", exc)
        response = self._send(
            "POST",
            "/auth/login",
            json={"username": username, "password": password, "device_id": self.device_id},
        )
        if response.status_code != 200:
            error = error_for(response)
            if isinstance(error, AuthRequired):  # 401 here is just a wrong password
                raise Refused(
                    error.message, status=401, code=error.code, details=error.details
                ) from None
            raise error
        body = json_body(response)
        account = Account.from_user_info(body["user"])
        previous = self.store.kv_get(KV_ACCOUNT)
        previous_owner = self.store.kv_get(KV_OWNER)
        self._save_tokens(body)
        with self.store.transaction() as tx:
            tx.kv_set(KV_SERVER, self.base_url)
            tx.kv_set(KV_OWNER, account.username)
            if not isinstance(previous, dict) or previous.get("id") != account.user_id:
                # Pull is per user: another user starts from the beginning.
                tx.kv_set(KV_CURSOR, 0)
                tx.kv_delete(KV_AREAS_FETCHED)
            if previous_owner is not None and previous_owner != account.username:
                tx.forget_previous_user()
        return account

    def _refuse_other_user_with_unsynced_data(self, username: str) -> None:
        owner = self.store.kv_get(KV_OWNER)
        if owner is None or owner == username:
            return
        unsynced = self.store.unsynced_items()
        if unsynced:
            raise Refused(
                f"this tablet still holds {unsynced} unsynced item(s) recorded by {owner}: "
                f"sign in as {owner} and sync them first",
                code="other_users_data",
                details={"owner": owner, "unsynced": unsynced},
            )

    def logout(self) -> None:
        """Revoke this sign-in on the server; forget the tokens anyway. Offline (or the
        server failing), the refresh token is kept aside and the server is told at the
        sign-in (:meth:`finish_pending_logouts`): a tablet signed out in a basement must
        not leave a sign-in that anyone holding the tablet's data could resume."""
        tokens = self._tokens()
        untold: str | None = None
        try:
            if tokens is not None:
                self.request(
                    "POST", "/auth/logout", json={"refresh_token": tokens["refresh_token"]}
                )
        except (NetworkError, RetryableError) as exc:
            log.info("logout: the server was not told (%s); it will be at the next chance", exc)
            untold = str(tokens["refresh_token"]) if tokens is not None else None
        except ApiError as exc:  # refused (e.g. the sign-in had ended already): nothing to end
            log.info("logout: the server refused (%s); tokens forgotten locally", exc)
        finally:
            with self.store.transaction() as tx:
                tx.kv_delete(KV_AUTH)
                tx.kv_delete(KV_ACCOUNT)
                if untold is not None:
                    pending = list(self.store.kv_get(KV_PENDING_LOGOUTS) or [])
                    tx.kv_set(KV_PENDING_LOGOUTS, [*pending, untold])

    def finish_pending_logouts(self) -> int:
        """End on the server the sign-ins signed out while offline: each kept refresh
        token is exchanged for a fresh access token (the old one has expired by now), and
        that pair signs out. Returns how many remain (a network failure stops here and
        keeps them; a token the server refuses had ended already and is dropped)."""
        pending = list(self.store.kv_get(KV_PENDING_LOGOUTS) or [])
        remaining = list(pending)
        for refresh_token in pending:
            try:
                self._end_sign_in(refresh_token)
            except (NetworkError, RetryableError) as exc:
                log.info("pending logouts: the server is not reachable (%s)", exc)
                break
            remaining.remove(refresh_token)
            with self.store.transaction() as tx:
                tx.kv_set(KV_PENDING_LOGOUTS, remaining)
        return len(remaining)

    def _end_sign_in(self, refresh_token: str) -> None:
        response = self._send("POST", "/auth/refresh", json={"refresh_token": refresh_token})
        if response.status_code != 200:
            error = error_for(response)
            if isinstance(error, (NetworkError, RetryableError)):
                raise error
            return  # refused: that sign-in had ended already
        fresh = json_body(response)
        response = self._send(
            "POST",
            "/auth/logout",
            json={"refresh_token": fresh["refresh_token"]},
            headers={"Authorization": f"Bearer {fresh['access_token']}"},
        )
        if response.status_code >= 400:
            error = error_for(response)
            if isinstance(error, (NetworkError, RetryableError)):
                raise error

    def _refresh(self, used_access_token: str | None) -> None:
        """Exchange the refresh token, once for all threads that saw the same 401."""
        with self._refresh_lock:
            tokens = self._tokens()
            if tokens is None:
                raise AuthRequired(
                    "not signed in on this tablet: sign in first", code="not_signed_in"
                )
            if tokens["access_token"] != used_access_token:
                return  # another thread refreshed meanwhile
            response = self._send(
                "POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            if response.status_code == 200:
                self._save_tokens(json_body(response))
                return
            error = error_for(response)
            if response.status_code in (400, 401, 403, 422):
                # The sign-in ended (expired, revoked, reused, user disabled): the tokens
                # are useless; the account and every unsent report stay.
                with self.store.transaction() as tx:
                    tx.kv_delete(KV_AUTH)
                raise AuthRequired(error.message, status=error.status, code=error.code)
            raise error

    # ------------------------------------------------------------ requests
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise NetworkError(
                f"{method} {path}: {type(exc).__name__}: {exc}".rstrip(": "), code="network"
            ) from exc

    def request(
        self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """A request to ``path`` (relative to /api/v1, or an absolute URL) that answered
        2xx (or 3xx); anything else raises one of the exceptions above."""
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in range(2):
            token: str | None = None
            if authenticated:
                tokens = self._tokens()
                if tokens is None:
                    raise AuthRequired(
                        "not signed in on this tablet: sign in first", code="not_signed_in"
                    )
                token = str(tokens["access_token"])
                headers["Authorization"] = f"Bearer {token}"
            response = self._send(method, path, headers=headers, **kwargs)
            if response.status_code < 400:
                return response
            if response.status_code == 401 and authenticated and attempt == 0:
                self._refresh(token)
                continue
            raise error_for(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def absolute(self, location: str) -> str:
        """A Location header (absolute path or URL) as an absolute URL on this server."""
        return str(httpx.URL(self.base_url + "/").join(location))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "Account",
    "ApiClient",
    "ApiError",
    "AuthRequired",
    "NetworkError",
    "Refused",
    "RetryableError",
    "error_for",
    "json_body",
    "parse_retry_after",
]
