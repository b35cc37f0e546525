"""Bad input is answered in the error envelope, naming the field that was wrong."""

from fastapi.testclient import TestClient

from tests.world import World, login


def test_malformed_json_names_the_body(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        content=b'{"username": "x"',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "body"
    assert "not valid JSON" in error["message"]


def test_wrong_type_names_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": ["x"], "password": "p"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "username"
    assert response.json()["error"]["message"].startswith("username:")


def test_unknown_field_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login", json={"username": "x", "password": "p", "pwd": "p"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "pwd"


def test_query_parameter_out_of_range_names_it(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/cases?limit=100000", headers=login(client, world.admin))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.limit"


def test_unknown_status_filter_names_it(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/cases?status=lost", headers=login(client, world.admin))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.status.0"


def test_garbage_cursor_is_a_422_not_a_500(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/cases?cursor=%%%", headers=login(client, world.admin))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.cursor"
