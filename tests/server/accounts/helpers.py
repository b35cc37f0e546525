"""Helpers for the account tests: call the auth endpoints, read and tamper with tokens.

Fixtures (conftest.py) hand out an `Auth` bound to the test client."""

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.world import PASSWORD

API = "/api/v1"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def tamper_signature(token: str) -> str:
    """Change one character of the JWT's signature, keeping it valid base64url."""
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert flipped != signature
    return f"{head}.{payload}.{flipped}"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


@dataclass
class Auth:
    """The auth endpoints, called through a test client."""

    client: TestClient

    def login(
        self,
        username: str,
        password: str = PASSWORD,
        *,
        device_id: str | None = "tablet-1",
        client: TestClient | None = None,
    ) -> httpx.Response:
        body: dict[str, str] = {"username": username, "password": password}
        if device_id is not None:
            body["device_id"] = device_id
        response: httpx.Response = (client or self.client).post(f"{API}/auth/login", json=body)
        return response

    def tokens(self, username: str, *, device_id: str | None = "tablet-1") -> dict[str, Any]:
        """Sign in successfully; the token response."""
        response = self.login(username, device_id=device_id)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refresh(self, refresh_token: str) -> httpx.Response:
        body = {"refresh_token": refresh_token}
        response: httpx.Response = self.client.post(f"{API}/auth/refresh", json=body)
        return response

    def logout(self, access_token: str, refresh_token: str | None = None) -> httpx.Response:
        body = {"refresh_token": refresh_token} if refresh_token else None
        response: httpx.Response = self.client.post(
            f"{API}/auth/logout", json=body, headers=bearer(access_token)
        )
        return response

    def me(self, access_token: str) -> httpx.Response:
        response: httpx.Response = self.client.get(f"{API}/me", headers=bearer(access_token))
        return response
