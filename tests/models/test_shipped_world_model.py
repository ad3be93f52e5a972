"""The shipped ShapesWorld diffusion model (runs only where it has been shipped into assets/)."""

from __future__ import annotations

import json

import pytest
import torch

from scenecraft.core.settings import ASSETS

SHIPPED = ASSETS / "shapes-sd"
pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model_index.json").exists(), reason="no world model shipped in assets/ yet"
)


@pytest.fixture(scope="module")
def model():
    from scenecraft.models import diffusion as D

    return D.load(SHIPPED, cache={})


def test_loads_offline_through_both_diffusers_pipelines(monkeypatch):
    from diffusers import StableDiffusionGLIGENPipeline, StableDiffusionPipeline

    from scenecraft.models import diffusion as D

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # float16 weights, as SD's fp16 checkpoints: a CPU loads them as float32
    pipe = StableDiffusionPipeline.from_pretrained(
        SHIPPED, safety_checker=None, dtype=torch.float32
    )
    model = D.DiffusionModel("shipped", torch.device("cpu"), torch.float32, pipe)
    if model.layout_channels:  # its UNet takes a layout map as well: scenecraft's sampler paints it
        g = D.Grounding(["red star"], [[0.1, 0.1, 0.5, 0.5]])
        images = D.sample(model, "a red star", steps=2, grounding=g).images
    else:
        images = pipe("a red star", num_inference_steps=2, output_type="np").images
    assert images.shape == (1, 128, 128, 3)
    gligen = StableDiffusionGLIGENPipeline.from_pretrained(
        SHIPPED, safety_checker=None, dtype=torch.float32
    )
    assert hasattr(gligen.unet, "position_net")


def test_the_shipped_folder_is_small_fp16_and_carries_its_history():
    from safetensors.torch import load_file

    size = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file()) / 2**20
    assert size < 20
    unet = load_file(SHIPPED / "unet" / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in unet.values()} == {torch.float16}
    record = json.loads((SHIPPED / "training.json").read_text())
    assert record["history"] and record["steps"] == record["history"][-1]["steps"]
    assert "| single object right" in (SHIPPED / "README.md").read_text()


def test_single_objects_on_fixed_seeds_stay_above_the_shipped_floor(model):
    """Floors under what the shipped model measured on these seeds (24 prompts, 20 steps:
    0.375 right, colour present 0.83, on 2026-12-04; the layout-map model of 2026-12-05 traded
    some of it for grounding: 0.260 on the full eval against 0.344); keep above the floor."""
    from scenecraft.eval.world_model import single_objects

    report, _ = single_objects(model, 24, 20, 3.0, batch=8)
    assert report["accuracy"] >= 0.25
    assert report["color_present"] >= 0.7


def test_inversion_round_trip(model):
    """Two validation scenes inverted and regenerated (shipped model: 24.0 dB mean on these;
    the target is 25 dB, README says where the model stands)."""
    from scenecraft.eval.world_model import inversion

    assert inversion(model, 2, 25)["psnr_mean"] >= 22


def test_grounded_layouts_on_fixed_seeds_stay_above_the_shipped_floor(model):
    """8 validation layouts (13 objects), 20 steps: the layout-map model shipped 2026-12-05 put
    0.54 of them somewhere in their box and 0.31 right (the model before it: about 0.02)."""
    from scenecraft.eval.world_model import grounded

    if not model.can_ground:
        pytest.skip("the shipped UNet cannot ground")
    report, _ = grounded(model, 8, 20, 3.0, quiet=True)
    assert report["placed_recall_iou50"] >= 0.4
    assert report["object_recall_iou50"] >= 0.2


def test_the_fit_check_compares_seen_and_unseen_scenes_on_the_same_draws():
    from dataclasses import replace

    from scenecraft.eval.world_model_fit import UNSEEN_FROM, load, mean_loss
    from scenecraft.training.scenes import training_scene
    from scenecraft.training.world_model import TrainConfig

    parts, record = load(SHIPPED)
    assert record["train"]["n_latents"] < UNSEEN_FROM  # the unseen scenes were in no cache
    tc = replace(TrainConfig(p_drop_text=0, p_drop_boxes=0), p_plain=0.0)
    seen = [training_scene(i) for i in range(4)]
    unseen = [training_scene(UNSEEN_FROM + i) for i in range(4)]
    a = mean_loss(parts, seen, tc, batch=4)
    assert a == mean_loss(parts, seen, tc, batch=4)  # the draws are fixed: a pair is comparable
    b = mean_loss(parts, unseen, tc, batch=4)
    assert a != b and 0 < a < 0.1 and 0 < b < 0.1  # a trained model's loss, on other scenes
