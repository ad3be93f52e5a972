"""The S3 artifact store against a real S3-compatible server (moto's server mode on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from service_harness import KEY_A, ApiServer, auth, wait_state, workers_for

from scenecraft.core.settings import get_settings
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.s3store import S3ArtifactStore
from scenecraft.service.worker.config import get_service_settings

BUCKET = "scenecraft-test"


@pytest.fixture
def s3(monkeypatch) -> Iterator[str]:
    """An S3 endpoint with one bucket; boto3 finds it through the standard AWS variables."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for k, v in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield f"s3://{BUCKET}/runs/artifacts"
    finally:
        server.stop()


def test_blobs_round_trip(s3):
    store = open_store(s3)
    assert isinstance(store, S3ArtifactStore)
    digest = store.put_blob(b"<svg/>")
    assert store.has_blob(digest) and store.get_blob(digest) == b"<svg/>"
    assert store.put_blob(b"<svg/>") == digest  # stored once
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"runs/artifacts/sha256/{digest[:2]}/{digest}"]
    missing = "0" * 64
    assert not store.has_blob(missing)
    with pytest.raises(FileNotFoundError):
        store.get_blob(missing)


@pytest.mark.timeout(180)
def test_worker_writes_and_api_serves_from_the_bucket(s3, service_env, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_ARTIFACTS", s3)
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    workers = workers_for(service_env)
    try:
        with ApiServer() as api, httpx.Client(base_url=api.url, headers=auth(KEY_A)) as c:
            workers.start()
            job = c.post(
                "/v1/jobs",
                json={"pipeline": "world.render", "params": {"prompt": "a blue heart", "size": 64}},
            ).json()
            done = wait_state(c, job["id"], {"succeeded", "failed"})
            assert done["state"] == "succeeded", done["error"]
            png = next(a for a in done["artifacts"] if a["name"] == "final.png")
            body = c.get(png["url"])
            assert body.status_code == 200 and body.content.startswith(b"\x89PNG")
            assert S3ArtifactStore.from_url(s3).has_blob(png["digest"])
    finally:
        workers.stop_all()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_service_settings.cache_clear()
