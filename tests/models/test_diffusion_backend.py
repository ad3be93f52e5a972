"""The diffusion backend on tiny random-weight checkpoints: loading, callbacks, primitives."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from scenecraft.core.errors import Cancelled, ModelNotFound
from scenecraft.core.progress import Progress
from scenecraft.models import diffusion as D


@pytest.fixture()
def model(tiny_sd):
    return D.load(tiny_sd, cache={})


def _count_unet_calls(model) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    model.pipe.unet.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    return seen


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFound, match="does not exist"):
        D.load(tmp_path / "nope", cache={})


def test_missing_component_is_named(tiny_sd, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd, broken)
    shutil.rmtree(broken / "unet")
    for f in (broken / "vae").glob("*.safetensors"):
        f.unlink()
    with pytest.raises(ModelNotFound) as e:
        D.load(broken, cache={})
    assert "unet/" in str(e.value) and "vae/ weights" in str(e.value)
    assert "text_encoder" not in str(e.value)


def test_uncached_hub_id_fails_fast_offline():
    with pytest.raises(ModelNotFound, match="local files"):
        D.load("scenecraft-test/definitely-not-cached", cache={})


def test_load_is_cached_per_device_and_dtype(tiny_sd):
    cache: dict = {}
    a = D.load(tiny_sd, cache=cache)
    assert D.load(str(tiny_sd), cache=cache) is a
    assert D.load(tiny_sd, dtype="bfloat16", cache=cache) is not a
    assert len(cache) == 2


def test_sample_is_seeded_and_any_multiple_of_the_vae_factor(model):
    a = D.sample(
        model,
        "a red circle",
        height=48,
        width=80,
        steps=3,
        generator=torch.Generator().manual_seed(1),
    )
    b = D.sample(
        model,
        "a red circle",
        height=48,
        width=80,
        steps=3,
        generator=torch.Generator().manual_seed(1),
    )
    assert a.images.shape == (1, 48, 80, 3) and a.images.dtype == np.uint8
    assert a.latents.shape == (1, 4, 6, 10)
    np.testing.assert_array_equal(a.images, b.images)
    with pytest.raises(ValueError, match="multiples of 8"):
        D.sample(model, "a red circle", height=50, width=64, steps=1)


def test_progress_fires_every_step_with_previews(model):
    events = []
    D.sample(
        model,
        ["a star", "a heart"],
        steps=4,
        preview_every=2,
        preview_min_s=0.0,
        progress=events.append,
    )
    assert [(p.stage, p.step, p.total) for p in events] == [("denoise", i, 4) for i in (1, 2, 3, 4)]
    previews = [p.preview for p in events if p.preview is not None]
    assert len(previews) == 2 and all(p.startswith(b"\x89PNG") for p in previews)


def test_cancel_stops_within_one_step(model):
    calls = _count_unet_calls(model)

    def progress(p: Progress) -> None:
        if p.step == 2:
            raise Cancelled("user cancelled")

    with pytest.raises(Cancelled):
        D.sample(model, "a star", steps=10, progress=progress)
    assert len(calls) == 2


def test_peek_sees_the_predicted_clean_latents_and_can_abandon(model):
    calls = _count_unet_calls(model)
    seen = []

    class Stop(Exception):
        pass

    def peek(step: int, x0: torch.Tensor) -> None:
        seen.append((step, tuple(x0.shape)))
        if step == 3:
            raise Stop

    with pytest.raises(Stop):
        D.sample(model, "a star", steps=10, peek=peek)
    assert [s for s, _ in seen] == [1, 2, 3] and len(calls) == 3  # 7 steps never paid for
    assert seen[0][1] == (1, model.latent_channels, 8, 8)


def test_frozen_latents_are_held_for_the_first_steps(model):
    calls = _count_unet_calls(model)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1
    values = torch.full((1, 4, 8, 8), 0.5)
    D.sample(model, "a star", steps=5, guidance=1.0, freeze=D.FrozenLatents(mask, values, steps=3))
    assert len(calls) == 5
    for i, x in enumerate(calls):  # no CFG: the UNet input is the latent itself
        left = x[..., :4]
        assert torch.allclose(left, torch.full_like(left, 0.5)) == (i < 3)


@pytest.mark.parametrize("grounded", [False, True])
def test_steps_held_everywhere_cost_no_unet_pass_and_change_nothing(model, monkeypatch, grounded):
    gen = torch.Generator().manual_seed(5)
    traj = D.sample(model, "a star", steps=6, generator=gen, keep_trajectory=True).trajectory
    kw = dict(
        steps=6,
        latents=traj[0],
        keep_trajectory=True,
        grounding=D.Grounding(["star"], [[0.1, 0.1, 0.5, 0.5]], fraction=0.3) if grounded else None,
    )
    held = D.FrozenLatents(torch.ones(1, 1, 8, 8), traj, steps=4)
    calls = _count_unet_calls(model)
    fast = D.sample(model, "a red circle", freeze=held, **kw)
    assert len(calls) == 3  # steps 4-6 only (step 4 from the held step 3)
    monkeypatch.setattr(D, "_held_steps", lambda freeze, latents: 0)
    slow = D.sample(model, "a red circle", freeze=held, **kw)
    np.testing.assert_array_equal(fast.images, slow.images)
    for a, b in zip(fast.trajectory, slow.trajectory, strict=True):
        assert torch.equal(a, b)
    # a cell left free needs every step
    part = D.FrozenLatents(torch.ones(1, 1, 8, 8).index_fill_(3, torch.tensor([0]), 0), traj, 4)
    calls.clear()
    D.sample(model, "a red circle", freeze=part, **kw)
    assert len(calls) == 6


def test_frozen_trajectory_follows_the_step(model):
    calls = _count_unet_calls(model)
    traj = [torch.full((1, 4, 8, 8), float(i)) for i in range(4)]
    mask = torch.ones(1, 1, 8, 8)
    mask[..., 0] = 0  # one free column, so every step runs
    D.sample(model, "a star", steps=4, guidance=1.0, freeze=D.FrozenLatents(mask, traj, steps=4))
    assert [float(x[..., 1:].mean()) for x in calls] == [0.0, 1.0, 2.0, 3.0]


def test_inversion_trajectory_lines_up_with_sampling(model):
    img = np.full((64, 64, 3), 230, np.uint8)
    img[16:40, 20:44] = (215, 38, 38)
    inv = D.invert(model, img, "a red square", steps=5)
    assert len(inv.trajectory) == 6 and inv.latents.shape == (1, 4, 8, 8)
    assert torch.equal(inv.for_sampling()[0], inv.latents)
    assert torch.equal(inv.for_sampling()[-1], inv.trajectory[1])
    # sampling from the inverted latent is deterministic (no fresh noise enters DDIM)
    a = D.sample(model, "a red square", steps=5, guidance=1.0, latents=inv.latents)
    b = D.sample(model, "a red square", steps=5, guidance=1.0, latents=inv.latents)
    np.testing.assert_array_equal(a.images, b.images)


def test_a_kept_trajectory_is_the_latent_before_every_step(model):
    calls = _count_unet_calls(model)
    gen = torch.Generator().manual_seed(3)
    out = D.sample(model, "a star", steps=4, guidance=1.0, generator=gen, keep_trajectory=True)
    assert len(out.trajectory) == 4
    for x, z in zip(calls, out.trajectory, strict=True):  # no CFG: the UNet input is the latent
        assert torch.equal(x, z)
    # replayed as frozen latents (how SLD transplants a generated object), it redraws the image
    again = D.sample(
        model,
        "a star",
        steps=4,
        guidance=1.0,
        latents=out.trajectory[0],
        freeze=D.FrozenLatents(torch.ones(1, 1, 8, 8), out.trajectory, steps=4),
    )
    np.testing.assert_array_equal(again.images, out.images)
    assert D.sample(model, "a star", steps=2).trajectory is None


def test_grounding_switches_gligen_on_for_the_first_steps(model):
    from diffusers.models.attention import GatedSelfAttentionDense

    fuser = next(m for m in model.pipe.unet.modules() if isinstance(m, GatedSelfAttentionDense))
    active: list[bool] = []
    fuser.register_forward_hook(lambda m, a, out: active.append(m.enabled))
    g = D.Grounding(
        ["red circle", "blue star"], [[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.4, 0.4]], fraction=0.5
    )
    out = D.sample(model, "a red circle and a blue star", steps=4, grounding=g)
    assert out.images.shape == (1, 64, 64, 3)
    # one fuser per transformer block call: enabled for 2 of 4 steps, then bypassed
    per_step = len(active) // 4
    assert active == [True] * 2 * per_step + [False] * 2 * per_step
    assert all(
        m.enabled for m in model.pipe.unet.modules() if isinstance(m, GatedSelfAttentionDense)
    )


def test_grounding_needs_gligen_layers(tiny_sd_plain):
    plain = D.load(tiny_sd_plain, cache={})
    with pytest.raises(ValueError, match="no GLIGEN layers"):
        D.sample(plain, "a star", steps=1, grounding=D.Grounding(["star"], [[0, 0, 0.5, 0.5]]))


def test_cross_attention_maps_per_token(model):
    store = D.AttentionStore()
    before = dict(model.pipe.unet.attn_processors)
    D.sample(model, ["a red circle", "a blue star"], steps=2, attention=store)
    maps = store.maps()
    tokens = model.pipe.tokenizer.model_max_length
    assert maps.shape == (2, tokens, 4, 4)  # largest cross-attention resolution of the tiny UNet
    # attention is a distribution over tokens at every position
    torch.testing.assert_close(maps.sum(1), torch.ones(2, 4, 4), atol=1e-4, rtol=0)
    assert {k: type(v) for k, v in model.pipe.unet.attn_processors.items()} == {
        k: type(v) for k, v in before.items()
    }
