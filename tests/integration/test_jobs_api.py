"""A job's life over HTTP: create, events, artifacts, ownership, idempotency, listing, batches."""

from __future__ import annotations

import json

import httpx
import pytest
from service_harness import KEY_A, auth, wait_state

from scenecraft.client.http import parse_sse

RENDER = {"pipeline": "world.render", "params": {"prompt": "a red star", "size": 64, "seed": 1}}


def events_of(client: httpx.Client, job_id: str) -> list:
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=120) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(parse_sse(r.iter_lines()))


def test_render_job_runs_streams_and_serves_its_artifacts(client_a, client_b, workers):
    workers.start()
    r = client_a.post("/v1/jobs", json=RENDER)
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] in ("queued", "running")
    assert job["params"]["seed"] == 1

    events = events_of(client_a, job["id"])
    kinds = [e.type for e in events]
    states = [e.data["state"] for e in events if e.type == "state"]
    assert states == ["queued", "running", "succeeded"]
    assert "progress" in kinds and "preview" in kinds
    assert kinds.index("result") < len(kinds) - 1  # the result comes before the final state
    progress = [e.data for e in events if e.type == "progress"]
    assert {"stage", "step", "total"} <= set(progress[-1])

    done = client_a.get(f"/v1/jobs/{job['id']}").json()
    assert done["state"] == "succeeded" and done["attempts"] == 1
    names = {a["name"]: a for a in done["artifacts"]}
    assert {"final.png", "final.svg", "masks.png"} <= set(names)
    png = client_a.get(names["final.png"]["url"])
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = client_a.get(names["final.svg"]["url"])
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["content-security-policy"] == "sandbox"
    assert svg.headers["x-content-type-options"] == "nosniff"

    # another key sees neither the job nor its artifacts nor its events
    assert client_b.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert client_b.get(names["final.png"]["url"]).status_code == 404
    assert client_b.get(f"/v1/jobs/{job['id']}/events").status_code == 404
    assert client_b.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
    # a finished job's stream replays in full and ends
    assert [e.type for e in events_of(client_a, job["id"])] == kinds


def test_missing_or_unknown_key_is_401(api):
    for headers in ({}, auth("not-a-key"), {"Authorization": "Basic eDp5"}):
        r = httpx.get(f"{api.url}/v1/jobs", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("body", [b'{"pipeline":', b"\xff*\x08[\x07p"])
@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/batches"])
def test_a_body_that_is_not_json_is_422_naming_the_body(client_a, path, body):
    headers = {"Content-Type": "application/json"}
    r = client_a.post(path, content=body, headers=headers)
    assert r.status_code == 422, r.text  # FastAPI said 400 (bytes) or field "12" (bad JSON)
    assert [e["field"] for e in r.json()["errors"]] == ["body"]
    assert "JSON" in r.json()["errors"][0]["message"]


def test_bad_params_name_the_field(client_a):
    bad = {"pipeline": "world.render", "params": {"prompt": "a red star", "size": 100000}}
    r = client_a.post("/v1/jobs", json=bad)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["params.size"]
    assert "limit" in r.json()["errors"][0]["message"]

    # JSON's true is not a number, though pydantic would read it as 1
    bad = {"pipeline": "world.render", "params": {"prompt": "a red star", "size": True}}
    r = client_a.post("/v1/jobs", json={**bad, "priority": False})
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["params.size", "priority"]

    r = client_a.post("/v1/jobs", json={"pipeline": "nope", "params": {}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "pipeline"


def test_a_quiet_event_stream_stays_open(client_a):
    """A queued job with no worker sends nothing after its first event: the stream must wait
    (Redis XREAD blocking longer than the Redis client's read timeout once dropped it at 5 s)."""
    job = client_a.post("/v1/jobs", json={**RENDER, "params": {**RENDER["params"], "seed": 9}})
    job_id = job.json()["id"]
    try:
        timeout = httpx.Timeout(30, read=8)  # the stream must still be open after 8 quiet seconds
        with client_a.stream("GET", f"/v1/jobs/{job_id}/events", timeout=timeout) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("id: ")  # the first event (queued) came at once
            with pytest.raises(httpx.ReadTimeout):
                for _ in lines:
                    pass
    finally:
        client_a.post(f"/v1/jobs/{job_id}/cancel")


def test_idempotency_key_returns_the_first_job(client_a):
    headers = {"Idempotency-Key": "same-request-1"}
    first = client_a.post("/v1/jobs", json=RENDER, headers=headers)
    again = client_a.post("/v1/jobs", json=RENDER, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = {**RENDER, "params": {**RENDER["params"], "seed": 2}}
    assert client_a.post("/v1/jobs", json=other, headers=headers).status_code == 409


def test_list_filters_and_pages(client_b):
    ids = [client_b.post("/v1/jobs", json={**RENDER, "priority": p}).json()["id"] for p in range(5)]
    page1 = client_b.get("/v1/jobs", params={"limit": 3, "pipeline": "world.render"}).json()
    page2 = client_b.get("/v1/jobs", params={"limit": 3, "cursor": page1["next_cursor"]}).json()
    listed = [j["id"] for j in page1["jobs"] + page2["jobs"]]
    assert listed[:5] == ids[::-1]  # newest first, no repeats across pages
    assert len(set(listed)) == len(listed)
    none = client_b.get("/v1/jobs", params={"status": "succeeded", "pipeline": "nope"}).json()
    assert none == {"jobs": [], "next_cursor": None}
    for i in ids:
        client_b.post(f"/v1/jobs/{i}/cancel")


def test_batch_json_and_jsonl(client_a, workers):
    workers.start()
    r = client_a.post("/v1/batches", json={"jobs": [RENDER, RENDER]})
    assert r.status_code == 202, r.text
    batch = r.json()
    assert len(batch["jobs"]) == 2

    jsonl = "\n".join(json.dumps(j) for j in (RENDER, RENDER, RENDER)) + "\n"
    r = client_a.post(
        "/v1/batches", content=jsonl, headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 202, r.text
    lined = r.json()
    for j in batch["jobs"] + lined["jobs"]:
        wait_state(client_a, j["id"], {"succeeded"})
    status = client_a.get(f"/v1/batches/{lined['id']}").json()
    assert status["state"] == "done" and status["counts"]["succeeded"] == 3

    bad = jsonl + '{"pipeline": "world.render", "params": {"size": 64}}\n'
    r = client_a.post("/v1/batches", content=bad, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("line 4")


def test_pipelines_list_schemas(api):
    r = httpx.get(f"{api.url}/v1/pipelines")
    assert r.status_code == 200
    by_name = {p["name"]: p for p in r.json()}
    assert by_name["world.render"]["queue"] == "cpu"
    assert "size" in by_name["world.render"]["params_schema"]["properties"]


def test_key_a_constant_is_not_stored(api):
    # keys are kept as sha256 digests only
    assert KEY_A not in json.dumps(list(api.service.keys))
