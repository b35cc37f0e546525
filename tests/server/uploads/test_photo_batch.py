"""POST /photos/batch: several photos in one request, each decided on its own; a refused
photo harms neither the others nor anything stored; sending a batch twice changes nothing."""

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from server.cases.models import Case, Photo
from server.core.config import Settings
from server.sync.models import ChangeEntity, ChangeLog
from shared_schemas.enums import Role
from shared_schemas.photos import MAX_BATCH_PHOTOS
from tests.live_server import LiveServer
from tests.server.uploads.helpers import declare_photo, make_jpeg, photo_state, sha256_hex
from tests.world import World, login

URL = "/api/v1/photos/batch"
PHOTOS = [make_jpeg(seed=40 + i, size=(96, 72)) for i in range(4)]


@dataclass
class Item:
    """One photo as the tablet sends it: the manifest entry and the file part's bytes."""

    photo_id: UUID
    report_id: UUID
    data: bytes
    sha256: str = ""
    size: int = 0

    def __post_init__(self) -> None:  # the manifest says what the tablet saved
        self.sha256 = self.sha256 or sha256_hex(self.data)
        self.size = self.size or len(self.data)

    def entry(self) -> dict[str, object]:
        return {
            "photo_id": str(self.photo_id),
            "report_id": str(self.report_id),
            "sha256": self.sha256,
            "size": self.size,
        }


def send(client: TestClient, auth: dict[str, str], items: list[Item]) -> Response:
    manifest = json.dumps({"photos": [item.entry() for item in items]})
    files = [
        (str(item.photo_id), (f"{item.photo_id}.jpg", item.data, "image/jpeg")) for item in items
    ]
    response: Response = client.post(URL, headers=auth, data={"manifest": manifest}, files=files)
    return response


def statuses(response: Response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(r["status"], r["code"]) for r in response.json()["results"]]


def declared(engine: Engine, world: World, data: bytes) -> Item:
    return Item(declare_photo(engine, world.a.case_id, data), world.a.case_id, data)


def case_changes(engine: Engine, case_id: UUID) -> int:
    with Session(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(ChangeLog)
            .where(ChangeLog.entity == ChangeEntity.CASE)
            .where(ChangeLog.entity_id == str(case_id))
        ).one()
        return int(count)


@pytest.fixture
def inspector(client: TestClient, world: World) -> dict[str, str]:
    return login(client, world.a.users[Role.INSPECTOR])


def test_a_batch_stores_every_photo_once_and_a_resend_changes_nothing(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    items = [declared(engine, world, data) for data in PHOTOS[:3]]
    changes_before = case_changes(engine, world.a.case_id)
    response = send(client, inspector, items)
    assert statuses(response) == [("received", None)] * 3
    assert [r["photo_id"] for r in response.json()["results"]] == [str(i.photo_id) for i in items]
    storage = client.app.state.storage  # type: ignore[attr-defined]
    for item in items:
        row, case = photo_state(engine, item.photo_id)
        assert row.received_at is not None and row.storage_key is not None
        assert storage.read_bytes(row.storage_key) == item.data
    assert case.photos_received == 3
    # One change for the case (photos 3/n received), not one per photo.
    assert case_changes(engine, world.a.case_id) == changes_before + 1

    again = send(client, inspector, items)
    assert statuses(again) == [("already_received", None)] * 3
    assert photo_state(engine, items[0].photo_id)[1].photos_received == 3
    assert case_changes(engine, world.a.case_id) == changes_before + 1


def test_each_photo_is_decided_on_its_own(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    good = declared(engine, world, PHOTOS[0])
    undeclared = Item(uuid4(), world.a.case_id, PHOTOS[1])
    other_report = Item(declare_photo(engine, world.a.case_id, PHOTOS[1]), uuid4(), PHOTOS[1])
    mismatch = declared(engine, world, PHOTOS[2])
    mismatch.sha256 = sha256_hex(b"something else")  # the manifest disagrees with the report
    damaged = declared(engine, world, PHOTOS[3])
    damaged.data = damaged.data[:-1] + bytes([damaged.data[-1] ^ 1])  # same size, other bytes
    cut = declared(engine, world, PHOTOS[3][:2000] + b"\x00" * 10)
    cut.data = cut.data[:-10]  # fewer bytes arrived than the manifest says
    text = b"this is not an image, only named .jpg" * 10
    not_image = declared(engine, world, text)
    response = send(
        client, inspector, [good, undeclared, other_report, mismatch, damaged, cut, not_image]
    )
    assert statuses(response) == [
        ("received", None),
        ("refused", "photo_not_declared"),
        ("refused", "photo_not_declared"),
        ("refused", "photo_mismatch"),
        ("refused", "sha256_mismatch"),
        ("refused", "size_mismatch"),
        ("refused", "not_an_image"),
    ]
    for result in response.json()["results"][1:]:
        assert result["message"], result  # a sentence the tablet can show
    assert "declared 12 bytes" not in response.json()["results"][3]["message"]
    for item in (other_report, mismatch, damaged, cut, not_image):
        row, case = photo_state(engine, item.photo_id)
        assert row.received_at is None and row.storage_key is None
    assert case.photos_received == 1
    # Only the good photo's bytes are in storage; no temporary files are left.
    root = settings.storage_dir
    stored = [p for p in root.rglob("*") if p.is_file() and "partial" not in p.parts]
    assert [p.name for p in stored] == [sha256_hex(good.data)]
    # The damaged one arrives whole later: it is received then.
    damaged.data = PHOTOS[3]
    assert statuses(send(client, inspector, [damaged])) == [("received", None)]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADMIN, ("received", None)),
        (Role.SUPERVISOR, ("refused", "forbidden")),  # sees the case, did not report it
        (Role.PATROL, ("refused", "forbidden")),
        (Role.DEPARTMENT, ("refused", "forbidden")),  # the world's case is dispatched to it
    ],
)
def test_only_the_reporter_or_an_admin_uploads(
    client: TestClient, world: World, engine: Engine, role: Role, expected: tuple[str, str]
) -> None:
    username = world.admin if role is Role.ADMIN else world.a.users[role]
    item = declared(engine, world, PHOTOS[0])
    assert statuses(send(client, login(client, username), [item])) == [expected]
    other_street = login(client, world.b.users[Role.INSPECTOR])
    assert statuses(send(client, other_street, [declared(engine, world, PHOTOS[1])])) == [
        ("refused", "not_found")
    ]


def _raw(client: TestClient, headers: dict[str, str], body: bytes) -> Response:
    response: Response = client.post(URL, headers=headers, content=body)
    return response


def test_refusals_of_the_whole_request_say_what_was_wrong(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    item = declared(engine, world, PHOTOS[0])
    manifest = json.dumps({"photos": [item.entry()]})
    files = [(str(item.photo_id), ("a.jpg", item.data, "image/jpeg"))]

    def error(response: Response, status: int, code: str) -> str:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        message: str = response.json()["error"]["message"]
        return message

    assert client.post(URL, data={"manifest": manifest}, files=files).status_code == 401
    error(
        _raw(client, {**inspector, "Content-Type": "application/json"}, b"{}"),
        415,
        "unsupported_media_type",
    )

    def chunked() -> object:
        yield b"--x\r\n"

    no_length = client.post(
        URL,
        headers={**inspector, "Content-Type": "multipart/form-data; boundary=x"},
        content=chunked(),
    )
    error(no_length, 411, "length_required")

    def with_manifest(text: str, parts: list[tuple[str, tuple[str, bytes, str]]]) -> Response:
        response: Response = client.post(
            URL, headers=inspector, data={"manifest": text}, files=parts
        )
        return response

    assert "Invalid JSON" in error(with_manifest("not json", files), 422, "bad_manifest")
    assert "size" in error(
        with_manifest(json.dumps({"photos": [{**item.entry(), "size": None}]}), files),
        422,
        "bad_manifest",
    )
    twice = json.dumps({"photos": [item.entry(), item.entry()]})
    assert "twice" in error(with_manifest(twice, files), 422, "bad_manifest")
    missing = with_manifest(manifest, [("other", ("b.jpg", item.data, "image/jpeg"))])
    error(missing, 422, "bad_manifest")
    assert missing.json()["error"]["details"] == {
        "missing": [str(item.photo_id)],
        "unexpected": ["other"],
    }
    too_many = json.dumps({"photos": [item.entry()] * (MAX_BATCH_PHOTOS + 1)})
    assert "photos" in error(with_manifest(too_many, files), 422, "bad_manifest")
    no_manifest: Response = client.post(URL, headers=inspector, files=files)
    assert "manifest" in error(no_manifest, 422, "bad_manifest")
    multipart = {**inspector, "Content-Type": "multipart/form-data; boundary=x"}
    cut_short = (
        b'--x\r\nContent-Disposition: form-data; name="manifest"\r\n\r\n' + manifest.encode()
    )
    assert "closing boundary" in error(_raw(client, multipart, cut_short), 422, "bad_manifest")
    as_file = [("manifest", ("m.json", manifest.encode(), "application/json")), *files]
    assert "`manifest` field" in error(
        client.post(URL, headers=inspector, files=as_file), 422, "bad_manifest"
    )
    # Nothing of all that stored anything.
    assert photo_state(engine, item.photo_id)[0].received_at is None


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    limit = settings.photo_batch_max_bytes
    item = declared(engine, world, PHOTOS[0])
    item.data = item.data + b"\x00" * limit  # the file part alone is over the limit
    response = send(client, inspector, [item])
    assert response.status_code == 413, response.text
    assert response.json()["error"]["details"] == {"limit": limit}
    assert photo_state(engine, item.photo_id)[0].received_at is None


def test_two_photos_with_the_same_bytes_are_both_received(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    """Content-addressed storage: the second is stored under the same key."""
    first, second = declared(engine, world, PHOTOS[0]), declared(engine, world, PHOTOS[0])
    assert statuses(send(client, inspector, [first, second])) == [("received", None)] * 2
    keys = {photo_state(engine, i.photo_id)[0].storage_key for i in (first, second)}
    assert len(keys) == 1 and None not in keys


DAMAGES = st.sampled_from(["none", "none", "flip", "cut", "undeclared", "received"])


def received_rows(engine: Engine, case_id: UUID) -> int:
    with Session(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(Photo)
            .where(Photo.case_id == case_id)
            .where(col(Photo.received_at).is_not(None))
        ).one()
        return int(count)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(DAMAGES, min_size=1, max_size=6))
def test_any_mix_receives_exactly_the_whole_photos_once(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, plan: list[str]
) -> None:
    """Whatever the mix, a photo is received iff its bytes arrived whole, every photo gets
    one result in manifest order, and the case's count equals its received photos."""
    items: list[Item] = []
    expected: list[str] = []
    for n, damage in enumerate(plan):
        data = make_jpeg(seed=1000 + n, size=(32, 24))
        if damage == "undeclared":
            item = Item(uuid4(), world.a.case_id, data)
        else:
            item = declared(engine, world, data)
        if damage == "received":
            assert statuses(send(client, inspector, [item])) == [("received", None)]
        elif damage == "flip":
            item.data = data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:]
        elif damage == "cut":
            item.data = data[:-5]
        items.append(item)
        expected.append({"none": "received", "received": "already_received"}.get(damage, "refused"))
    got = [status for status, _code in statuses(send(client, inspector, items))]
    assert got == expected, plan
    with Session(engine) as session:
        case = session.get(Case, world.a.case_id)
        assert case is not None
    assert case.photos_received == received_rows(engine, world.a.case_id)


def _batch_request(items: list[Item]) -> tuple[dict[str, str], bytes]:
    """The multipart request httpx would send: (headers, body)."""
    manifest = json.dumps({"photos": [item.entry() for item in items]})
    request = httpx.Request(
        "POST",
        "http://x/",
        data={"manifest": manifest},
        files=[(str(i.photo_id), ("p.jpg", i.data, "image/jpeg")) for i in items],
    )
    return dict(request.headers), request.read()


def test_batches_racing_for_the_same_photos_count_each_once(
    live_server: LiveServer, client: TestClient, world: World, engine: Engine
) -> None:
    """Two tablets' worth of retries at once (a batch sent again while the first is still
    being handled): every photo received once, the case counts each once."""
    items = [declared(engine, world, data) for data in PHOTOS]
    auth = login(client, world.a.users[Role.INSPECTOR])
    headers, body = _batch_request(items)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:

        def post(_n: int) -> list[str]:
            response = http.post(URL, headers={**headers, **auth}, content=body)
            assert response.status_code == 200, response.text
            return [r["status"] for r in response.json()["results"]]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(4)))
    for n in range(len(items)):  # each photo: received by exactly one of the four
        column = sorted(answer[n] for answer in answers)
        assert column == ["already_received"] * 3 + ["received"], answers
    assert photo_state(engine, items[0].photo_id)[1].photos_received == len(items)


def test_a_batch_cut_off_mid_body_stores_nothing(
    live_server: LiveServer, client: TestClient, world: World, engine: Engine
) -> None:
    """The connection drops after part of the body: nothing is stored or counted, and
    the same batch sent again whole is received."""
    items = [declared(engine, world, data) for data in PHOTOS[:2]]
    auth = login(client, world.a.users[Role.INSPECTOR])
    headers, body = _batch_request(items)
    parts = urlsplit(live_server.url)
    head = [f"POST {URL} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{k}: {v}" for k, v in {**headers, **auth}.items() if k.lower() != "host"]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall("\r\n".join([*head, "", ""]).encode() + body[: len(body) * 2 // 3])
    time.sleep(0.3)  # let the server notice the disconnect
    for item in items:
        assert photo_state(engine, item.photo_id)[0].received_at is None
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        again = http.post(URL, headers={**headers, **auth}, content=body)
    assert statuses(again) == [("received", None)] * 2
