"""Input refused at the door: deep or non-finite JSON, strings for numbers, image bombs, bad JSONL
lines, slow clients, and the rate bucket of API instances with different limits (issue 25)."""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from service_harness import KEY_B, KEY_FUZZ, SERVICE_ENV, ApiServer, auth, cancel_all

from scenecraft.core.settings import get_settings
from scenecraft.service.worker.config import get_service_settings

RENDER = {"pipeline": "world.render", "params": {"prompt": "a red star", "size": 64}}
STAR = {"shape": "star", "color": "red", "size": "small", "cx": 0.5, "cy": 0.5}


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    """A key of these tests; whatever it queued is canceled afterwards (no test starts workers)."""
    with httpx.Client(base_url=api.url, headers=auth(KEY_FUZZ), timeout=30) as c:
        yield c
        cancel_all(c)


def fields(r: httpx.Response) -> list[str]:
    assert set(r.json()) == {"detail", "errors"}, r.text
    return [e["field"] for e in r.json()["errors"]]


def post_raw(client: httpx.Client, path: str, text: str, ctype: str = "application/json"):
    return client.post(path, content=text.encode(), headers={"content-type": ctype})


def job_ids(client: httpx.Client) -> list[str]:
    r = client.get("/v1/jobs", params={"limit": 200})
    assert r.status_code == 200, r.text
    return [j["id"] for j in r.json()["jobs"]]


@pytest.mark.parametrize("depth", [40, 255, 600, 2500])
def test_deeply_nested_json_is_422_and_makes_no_job(client, depth):
    before = job_ids(client)
    objects = "[" * depth + "]" * depth
    body = f'{{"pipeline": "world.render", "params": {{"scene": {{"objects": {objects}}}}}}}'
    r = post_raw(client, "/v1/jobs", body)
    assert r.status_code == 422, r.text
    (field,) = fields(r)
    assert field == "body" or field.startswith("params.scene.objects"), field
    assert "deep" in r.json()["detail"]
    assert job_ids(client) == before
    r = post_raw(client, "/v1/batches", f'{{"jobs": [{body}]}}')
    assert r.status_code == 422, r.text
    assert job_ids(client) == before


def test_a_stored_record_that_cannot_be_shown_does_not_break_the_key_s_job_list(api, client):
    # a record written by an earlier version, before the depth limit: reading it must not 500
    job = client.post("/v1/jobs", json=RENDER).json()
    deep: object = {}
    for _ in range(300):
        deep = {"a": deep}
    api.service.store.r.hset(f"sc:job:{job['id']}", "params", json.dumps({"scene": deep}))
    r = client.get(f"/v1/jobs/{job['id']}")
    assert r.status_code == 200, r.text
    assert "cannot be shown" in r.json()["error"]
    for query in ({}, {"status": "queued"}):
        r = client.get("/v1/jobs", params=query)
        assert r.status_code == 200, r.text
        assert job["id"] in [j["id"] for j in r.json()["jobs"]]
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_naming_the_field(client, number):
    before = job_ids(client)
    scene = json.dumps({"objects": [STAR], "background": ["white", "white"]})
    scene = scene.replace('"cx": 0.5', f'"cx": {number}')
    job = f'{{"pipeline": "world.render", "params": {{"scene": {scene}}}}}'
    r = post_raw(client, "/v1/jobs", job)
    assert r.status_code == 422, r.text
    assert fields(r) == ["params.scene.objects[0].cx"]
    svg = f'{{"pipeline": "svgcraft", "params": {{"prompt": "a star", "guidance": {number}}}}}'
    r = post_raw(client, "/v1/batches", f'{{"jobs": [{svg}]}}')
    assert r.status_code == 422, r.text
    assert fields(r) == ["jobs[0].params.guidance"]
    r = post_raw(client, "/v1/batches", f"{svg}\n", "application/x-ndjson")
    assert r.status_code == 422, r.text
    assert fields(r) == ["line 1.params.guidance"]
    assert job_ids(client) == before


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({**RENDER, "params": {"prompt": "a red star", "size": "64"}}, "params.size"),
        ({**RENDER, "params": {"prompt": "a red star", "size": " 32 "}}, "params.size"),
        ({**RENDER, "params": {"prompt": "a red star", "size": "6_4"}}, "params.size"),
        ({**RENDER, "params": {"prompt": "a red star", "seed": "7"}}, "params.seed"),
        ({**RENDER, "priority": "9"}, "priority"),
        ({"pipeline": "vectorize", "params": {"iters": "5"}}, "params.iters"),
        ({"pipeline": "svgcraft", "params": {"prompt": "a", "guidance": "2.5"}}, "params.guidance"),
        (
            {"pipeline": "slate", "params": {"mode": "compose", "swap": [["0", 1]]}},
            "params.swap[0]",
        ),
        (
            {"pipeline": "world.render", "params": {"scene": {"objects": [{**STAR, "cx": "0.5"}]}}},
            "params.scene.objects[0].cx",
        ),
    ],
)
def test_strings_are_not_numbers(client, job, field):
    before = job_ids(client)
    r = client.post("/v1/jobs", json=job)
    assert r.status_code == 422, r.text
    assert fields(r) and all(f.startswith(field) for f in fields(r)), fields(r)
    r = client.post("/v1/batches", json={"jobs": [job]})
    assert r.status_code == 422, r.text
    assert all(f.startswith(f"jobs[0].{field}") for f in fields(r)), fields(r)
    assert job_ids(client) == before


def test_a_scene_of_json_types_is_still_accepted(client):
    scene = {
        "objects": [STAR, {**STAR, "cx": 0, "cy": 1, "rotation": 45}],
        "background": ["white"] * 2,
    }
    r = client.post("/v1/jobs", json={"pipeline": "world.render", "params": {"scene": scene}})
    assert r.status_code == 202, r.text


def png(width: int, height: int, data: bytes | None = None) -> str:
    """A PNG whose header says ``width`` x ``height`` (greyscale); ``data`` is what its one IDAT
    holds before compression (default: every row, zero)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    if data is None:
        data = b"\0" * ((width + 1) * height)
    head = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(data))
    return base64.b64encode(raw + chunk(b"IEND", b"")).decode()


def real_png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "image",
    [
        base64.b64encode(real_png(2000, 8)).decode(),  # wider than SCENECRAFT_LIMIT_MAX_SIDE
        png(12000, 12000, b"\0" * 64),
        png(30000, 30000, b"\0" * 64),
        png(65535, 65535, b"\0" * 64),
        png(2**31 - 1, 1, b"\0" * 64),
        png(1, 10_000_000, b"\0" * 64),
        png(64, 64, b"\0" * 64),  # the header says more rows than the data holds
        base64.b64encode(real_png(64, 64)[:-40]).decode(),  # cut short
        base64.b64encode(b"GIF89a not really").decode(),
    ],
    ids=["2000x8", "12000^2", "30000^2", "65535^2", "2^31-1", "1x1e7", "short-data", "cut", "junk"],
)
def test_image_bombs_and_broken_images_are_refused_before_queueing(client, image):
    before = job_ids(client)
    r = client.post(
        "/v1/jobs", json={"pipeline": "vectorize", "params": {"image": {"png_base64": image}}}
    )
    assert r.status_code == 422, r.text
    assert fields(r) == ["params.image.png_base64"]
    assert job_ids(client) == before


def test_an_image_within_the_limits_is_accepted(client):
    image = base64.b64encode(real_png(64, 48)).decode()
    r = client.post(
        "/v1/jobs", json={"pipeline": "vectorize", "params": {"image": {"png_base64": image}}}
    )
    assert r.status_code == 202, r.text


def test_bad_json_in_a_jsonl_upload_names_its_line(client):
    good = json.dumps(RENDER)
    r = post_raw(client, "/v1/batches", f"{good}\n{good}\n{{oops\n", "application/x-ndjson")
    assert r.status_code == 422, r.text
    assert fields(r) == ["line 3"]
    assert "line 1" not in r.json()["detail"]


def connect(api: ApiServer) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", api.port), timeout=1)
    s.settimeout(0.2)
    return s


def read_until_closed(s: socket.socket, within_s: float, trickle: bytes = b"") -> bytes:
    """What the server sends until it closes the connection (sending ``trickle`` a byte a 0.2 s
    meanwhile); fails if it is still open after ``within_s`` seconds."""
    got, deadline = b"", time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if trickle:
                s.sendall(trickle[:1])
                trickle = trickle[1:]
            chunk = s.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return got
        if not chunk:
            return got
        got += chunk
    pytest.fail(f"connection still open after {within_s} s; got {got!r}")


def test_a_client_slow_to_send_its_headers_is_disconnected(api):
    timeout = float(SERVICE_ENV["SCENECRAFT_HEADER_TIMEOUT_S"])
    with connect(api) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        read_until_closed(s, timeout + 3, trickle=b"X-Slow: " + b"a" * 200)
        assert time.monotonic() - started >= timeout - 0.5


def test_a_client_slow_to_send_its_body_gets_408(api):
    timeout = float(SERVICE_ENV["SCENECRAFT_BODY_TIMEOUT_S"])
    with connect(api) as s:
        head = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        s.sendall(
            f"{head}Authorization: Bearer {KEY_FUZZ}\r\nContent-Length: 1000\r\n\r\n".encode()
        )
        s.sendall(b'{"pipeline"')
        answer = read_until_closed(s, timeout + 3)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]


def test_api_instances_with_different_rates_keep_separate_buckets(api, monkeypatch):
    # another instance over the same Redis, the same key, a far lower rate: throttling there must
    # not spend this key's bucket here
    monkeypatch.setenv("SCENECRAFT_RATE_LIMIT_PER_S", "0.5")
    monkeypatch.setenv("SCENECRAFT_RATE_LIMIT_BURST", "3")
    get_service_settings.cache_clear()
    try:
        with ApiServer() as slow, httpx.Client(base_url=slow.url, headers=auth(KEY_B)) as c:
            codes = [c.get("/v1/jobs").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_service_settings.cache_clear()
    with httpx.Client(base_url=api.url, headers=auth(KEY_B)) as c:
        assert [c.get("/v1/jobs").status_code for _ in range(20)] == [200] * 20


def test_a_stored_record_that_cannot_be_read_is_listed_as_failed_saying_so(api, client):
    # damaged in Redis (or written by another version): not JSON, a field missing
    jobs = [client.post("/v1/jobs", json=RENDER).json() for _ in range(2)]
    api.service.store.r.hset(f"sc:job:{jobs[0]['id']}", "params", "{not json")
    api.service.store.r.hdel(f"sc:job:{jobs[1]['id']}", "created_at")
    for job in jobs:
        r = client.get(f"/v1/jobs/{job['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "failed" and "cannot be read" in r.json()["error"]
    r = client.get("/v1/jobs", params={"status": "failed"})
    assert r.status_code == 200, r.text
    assert {j["id"] for j in jobs} <= {j["id"] for j in r.json()["jobs"]}
