"""The pipeline contract: params validated with errors naming the field; progress and cancel."""

import json

import pytest

import scenecraft
from scenecraft.core.errors import Cancelled, InvalidParams, UnknownPipeline
from scenecraft.core.progress import Progress
from scenecraft.pipelines.artifacts import LocalArtifactStore
from scenecraft.pipelines.registry import pipelines, run_pipeline, validate


def fields(err: InvalidParams) -> set[str]:
    return {e["field"] for e in err.errors}


def test_too_large_canvas_empty_prompt_and_unknown_field_are_named():
    with pytest.raises(InvalidParams) as e:
        validate("world.render", {"prompt": "   ", "size": 99999, "colour": 1})
    assert fields(e.value) == {"params.prompt", "params.size", "params.colour"}
    assert "size 99999 px is larger than the limit 1024 px" in str(e.value)


@pytest.mark.parametrize(
    ("pipeline", "params", "field"),
    [
        ("world.render", {"prompt": "a red star", "size": True}, "params.size"),
        ("svgcraft", {"prompt": "a red star", "guidance": False}, "params.guidance"),
        ("svgcraft", {"prompt": "a red star", "seed": True}, "params.seed"),
        ("svgcraft", {"prompt": "a red star", "layout": 1}, "params.layout"),
        ("vectorize", {"image": {"scene": True}}, "params.image.scene"),
        (
            "vectorize",
            {"image": {"scene": 1}, "opacity_modulation": "yes"},
            "params.opacity_modulation",
        ),
    ],
)
def test_json_types_are_the_schemas(pipeline, params, field):
    # pydantic alone reads true as 1 and 1 or "yes" as true; the published schema says otherwise
    with pytest.raises(InvalidParams) as e:
        validate(pipeline, params)
    assert fields(e.value) == {field}


def test_json_types_still_take_what_the_schema_allows():
    _, p = validate("vectorize", {"image": {"scene": 1}, "opacity_modulation": None, "size": 64})
    assert p.opacity_modulation is None and p.size == 64
    _, p = validate("svgcraft", {"prompt": "a red star", "layout": False, "guidance": 2})
    assert p.layout is False and p.guidance == 2.0


def test_unknown_pipeline_lists_the_known_ones():
    with pytest.raises(UnknownPipeline) as e:
        validate("world.rendr", {})
    assert "world.render" in str(e.value)


def test_every_registered_pipeline_declares_a_queue_and_a_schema():
    for name, p in pipelines().items():
        assert p.queue in ("gpu", "cpu"), name
        assert p.params.model_json_schema()["type"] == "object"


def test_python_api_runs_and_records_the_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_ARTIFACTS", str(tmp_path))
    from scenecraft.core.settings import get_settings

    get_settings.cache_clear()
    try:
        r = scenecraft.run("world.render", prompt="a red star", size=64)
    finally:
        get_settings.cache_clear()
    assert r.record["seed"] == r.record["params"]["seed"] is not None
    assert {"final.png", "final.svg", "masks.png"} <= set(r.artifacts)
    assert r.metrics["judge_ok"] is True
    # content-addressed: the blob is stored under its digest
    ref = r.artifacts["final.png"]
    assert (tmp_path / "sha256" / ref.digest[:2] / ref.digest).stat().st_size == ref.size


def test_progress_events_and_cancel(tmp_path):
    params = {"prompt": "a blue heart", "size": 64, "seed": 1}
    store = LocalArtifactStore(tmp_path)
    events: list[Progress] = []
    result = run_pipeline("world.render", params, store=store, device="cpu", progress=events.append)
    assert all(isinstance(e, Progress) for e in events)
    assert [(e.stage, e.step, e.total) for e in events] == [
        ("layout", 0, 0),
        ("render", 0, 0),
        ("render", 1, 2),
        ("render", 2, 2),
    ]
    assert [e.preview[:8] for e in events if e.preview] == [b"\x89PNG\r\n\x1a\n"]
    assert result.read("final.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert result.record["pipeline"] == "world.render" and result.record["seed"] == 1

    with pytest.raises(Cancelled):
        run_pipeline("world.render", params, store=store, device="cpu", cancelled=lambda: True)


@pytest.mark.parametrize(
    ("pipeline", "params"),
    [
        ("world.render", {"prompt": "two red stars", "size": 64}),
        ("vectorize", {"image": {"scene": 3}, "size": 64, "paths": 4, "iters": 5}),
    ],
)
def test_python_api_hands_over_the_bytes_and_stores_where_it_is_told(
    tmp_path, monkeypatch, pipeline, params
):
    monkeypatch.chdir(tmp_path)  # the default store would be runs/artifacts under here
    r = scenecraft.run(pipeline, store=tmp_path / "store", seed=2, **params)
    assert not (tmp_path / "runs").exists()
    svg = r.read("final.svg")
    assert svg.startswith(b"<svg") and len(svg) == r.artifacts["final.svg"].size
    digest = r.artifacts["final.svg"].digest
    assert (tmp_path / "store" / "sha256" / digest[:2] / digest).read_bytes() == svg

    paths = r.save(tmp_path / "out" / "job")
    assert {p.name for p in paths} == {*r.artifacts, "record.json"}
    for name in r.artifacts:
        assert (tmp_path / "out" / "job" / name).read_bytes() == r.read(name)
    record = json.loads((tmp_path / "out" / "job" / "record.json").read_text())
    assert record["record"]["seed"] == 2 and record["record"]["pipeline"] == pipeline

    with pytest.raises(KeyError, match="final.png"):  # the message lists what there is
        r.read("final.jpg")


def test_the_model_a_job_uses_is_its_contexts_not_the_environments(tiny_sd, tmp_path, monkeypatch):
    # a worker whose environment names a model that is not there still runs a job whose
    # settings name one that is: run() reads the context's settings, never get_settings()
    from scenecraft.core.settings import get_settings

    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(tmp_path / "no-model-here"))
    get_settings.cache_clear()
    try:
        settings = get_settings().model_copy(update={"world_model": str(tiny_sd)})
        r = run_pipeline(
            "sld",
            {"prompt": "a red circle", "steps": 2, "rounds": 0},
            store=LocalArtifactStore(tmp_path / "store"),
            device="cpu",
            models={},
            seed=0,
            settings=settings,
        )
    finally:
        get_settings.cache_clear()
    assert {"initial.png", "final.png"} <= set(r.artifacts)
