"""The shipped ShapesWorld diffusion model (runs only where it has been shipped into assets/)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenecraft.settings import ASSETS

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

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = StableDiffusionPipeline.from_pretrained(SHIPPED, safety_checker=None)
    assert pipe("a red star", num_inference_steps=2, output_type="np").images.shape == (
        1,
        128,
        128,
        3,
    )
    gligen = StableDiffusionGLIGENPipeline.from_pretrained(SHIPPED, safety_checker=None)
    assert hasattr(gligen.unet, "position_net")


def test_fixed_seed_single_object_is_judged_right(model):
    from scenecraft.models import diffusion as D
    from scenecraft.world.detect import detect

    out = D.sample(model, "a red star", steps=25, generator=torch.Generator().manual_seed(0))
    assert [d.label for d in detect(out.images[0])] == ["red star"]


def test_inversion_round_trip(model):
    from scenecraft.models import diffusion as D
    from scenecraft.world.render import render_scene
    from scenecraft.world.scene import sample_scene, split_seed

    scene = sample_scene(split_seed("val", 60_000))
    img = render_scene(scene, 128).image
    inv = D.invert(model, img, scene.caption(), steps=25)
    regen = D.sample(model, scene.caption(), steps=25, guidance=1.0, latents=inv.latents)
    mse = np.mean((img.astype(float) - regen.images[0].astype(float)) ** 2)
    assert 10 * np.log10(255**2 / mse) >= 25
