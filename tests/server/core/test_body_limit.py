"""The multipart body cap (server/core/body_limit.py): a body too large for any step is
refused from its Content-Length before a byte is parsed; a multipart body without one is
refused rather than read blind; forms under the cap pass through."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.core.config import Settings
from server.main import create_app
from shared_schemas.enums import Role
from tests.world import World, build_world, login


@pytest.fixture
def small_client(settings: Settings) -> Iterator[tuple[TestClient, World]]:
    app = create_app(settings.model_copy(update={"upload_max_bytes": 1024}))
    world = build_world(app.state.engine, app.state.settings)
    with TestClient(app) as client:
        yield client, world
    app.state.engine.dispose()


def test_a_body_over_the_cap_is_refused_before_parsing(
    small_client: tuple[TestClient, World],
) -> None:
    client, world = small_client
    auth = login(client, world.a.users[Role.DEPARTMENT], device_id=None)
    response = client.post(
        f"/api/v1/cases/{world.a.case_id}/photos",
        files=[("files", ("big.jpg", b"\xff\xd8\xff" + b"x" * 2 * 1024 * 1024, "image/jpeg"))],
        headers=auth,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "at most" in response.json()["error"]["message"]


def test_a_multipart_body_without_a_length_is_cut_off_once_over_the_cap(
    small_client: tuple[TestClient, World],
) -> None:
    client, world = small_client
    auth = login(client, world.a.users[Role.DEPARTMENT], device_id=None)

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
        yield b"Content-Type: image/jpeg\r\n\r\n"
        for _ in range(64):
            yield b"y" * 64 * 1024
        yield b"\r\n--x--\r\n"

    response = client.post(
        f"/api/v1/cases/{world.a.case_id}/photos",
        content=chunks(),
        headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_small_form_passes_through_to_the_route(
    small_client: tuple[TestClient, World],
) -> None:
    client, world = small_client
    response = client.post(
        f"/api/v1/cases/{world.a.case_id}/photos",
        files=[("files", ("a.jpg", b"\xff\xd8\xff", "image/jpeg"))],
    )
    assert response.status_code == 401  # reached the route's token check
