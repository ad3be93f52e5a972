"""The ``slate`` and ``slate.train`` pipelines run through the registry, as the CLI runs them."""

from __future__ import annotations

import base64
import json

import pytest
import torch

from scenecraft.core.errors import Cancelled, InvalidParams
from scenecraft.core.progress import Progress
from scenecraft.core.settings import get_settings
from scenecraft.pipelines.artifacts import LocalArtifactStore
from scenecraft.pipelines.registry import run_pipeline, validate
from scenecraft.shapesworld.render import render_scene, to_png
from scenecraft.shapesworld.scene import sample_scene
from scenecraft.slate.checkpoint import save_model
from scenecraft.slate.model import Slate


@pytest.fixture
def checkpoint(tiny, library, tmp_path, monkeypatch):
    folder = tmp_path / "slate"
    save_model(Slate(tiny), folder)
    library.save(folder)
    monkeypatch.setenv("SCENECRAFT_SLATE_MODEL", str(folder))
    monkeypatch.setenv("SCENECRAFT_ARTIFACTS", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def run(name: str, params: dict, seed: int = 3, **kw):
    store = LocalArtifactStore(get_settings().artifacts)
    return run_pipeline(name, params, store=store, device="cpu", models={}, seed=seed, **kw)


def test_reconstruct_writes_image_masks_and_fg_ari(checkpoint):
    result = run("slate", {"mode": "reconstruct", "image": {"scene": 5}})
    names = set(result.artifacts)
    assert {"input.png", "final.png", "dvae.png", "segmentation.png"} <= names
    assert {"slot_0.png", "slot_1.png", "slot_2.png"} <= names
    assert 0.0 <= result.metrics["mse"] <= 1.0
    assert -1.0 <= result.metrics["fg_ari"] <= 1.0


def test_reconstruct_accepts_an_uploaded_image(checkpoint):
    png = to_png(render_scene(sample_scene(1), 40).image)
    image = {"png_base64": base64.b64encode(png).decode()}
    result = run("slate", {"image": image})
    assert "fg_ari" not in result.metrics  # no ground truth for an upload
    with pytest.raises(InvalidParams, match="params.image.png_base64"):
        run("slate", {"image": {"png_base64": base64.b64encode(b"not a png").decode()}})


def test_compose_by_name_records_the_slots_it_chose(checkpoint):
    result = run("slate", {"mode": "compose", "concepts": "a blue star and a red circle"})
    record = json.loads(result.read("composition.json"))
    assert [o["concept"] for o in record["objects"]] == ["blue star", "red circle"]
    assert [o["slot"] for o in record["objects"]] == [4, 1]
    assert "judge_ok" in result.metrics
    params = {"mode": "compose", "concepts": "a blue star and a red circle", "candidates": 3}
    result = run("slate", params)
    record = json.loads(result.read("composition.json"))
    assert len(record["candidate_scores"]) == 3 and 0 <= record["chosen"] < 3


def test_compose_with_an_unknown_concept_lists_the_known_ones(checkpoint):
    with pytest.raises(InvalidParams) as e:
        run("slate", {"mode": "compose", "concepts": "a purple dragon and a red circle"})
    assert e.value.errors[0]["field"] == "params.concepts"
    assert "'dragon'" in str(e.value)
    assert "known concepts: blue star, red circle" in str(e.value)


def test_compose_by_slot_swap(checkpoint):
    params = {"mode": "compose", "image": {"scene": 1}, "image_b": {"scene": 2}, "swap": [[0, 1]]}
    result = run("slate", params)
    assert {"final.png", "segmentation_a.png", "segmentation_b.png"} <= set(result.artifacts)
    with pytest.raises(InvalidParams, match="outside 0..2"):
        run("slate", {**params, "swap": [[0, 7]]})


def test_compose_params_name_what_is_missing():
    with pytest.raises(InvalidParams, match="exactly one of 'concepts' or 'swap'"):
        validate("slate", {"mode": "compose"})
    with pytest.raises(InvalidParams, match="needs 'image' and 'image_b'"):
        validate("slate", {"mode": "compose", "swap": [[0, 1]]})
    with pytest.raises(InvalidParams, match="'candidates' is for compose with 'concepts'"):
        validate("slate", {"candidates": 2})
    with pytest.raises(InvalidParams) as e:
        validate("slate", {"mode": "compose", "concepts": "a red circle", "candidates": 99})
    assert e.value.errors[0]["field"] == "params.candidates"
    with pytest.raises(InvalidParams) as e:  # an empty swap is no swap: the schema says so too
        validate("slate", {"mode": "compose", "swap": []})
    assert e.value.errors[0]["field"] == "params.swap"


def test_train_job_cancels_with_a_checkpoint_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_ARTIFACTS", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    params = {
        "run": "t1",
        "preset": "small",
        "steps": 3,
        "dvae_steps": 1,
        "train_images": 4,
        "checkpoint_every_s": 1000,
    }
    cancel = []

    def on_progress(p: Progress) -> None:
        if p.stage == "slate" and p.step == 1:
            cancel.append(True)  # the user cancels after the first slate step is reported

    with pytest.raises(Cancelled):
        run("slate.train", params, progress=on_progress, cancelled=lambda: bool(cancel))
    folder = tmp_path / "slate-train" / "t1"
    state = torch.load(folder / "train_state.pt", weights_only=False)["state"]
    assert state["dvae_step"] == 1 and state["step"] == 2  # cancel is seen at the next report
    result = run("slate.train", params)
    assert result.metrics["step"] == 3
    assert {"model.safetensors", "config.json", "concepts.json"} <= set(result.artifacts)
    get_settings.cache_clear()
