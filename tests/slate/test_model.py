"""SLATE's modules: shapes, masks that partition the image, KV-cached decoding, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenecraft.slate.checkpoint import load_model, save_model
from scenecraft.slate.metrics import fg_ari
from scenecraft.slate.model import Slate


def test_slots_and_masks_have_the_documented_shapes_and_partition_the_image(tiny):
    model = Slate(tiny).eval()
    image = torch.rand(2, 3, 16, 16)
    out = model.reconstruct(image)
    assert out["tokens"].shape == (2, 4, 4)
    assert out["slots"].shape == (2, 3, 16)
    assert out["attn"].shape == (2, 3, 16)
    assert out["masks"].shape == (2, 3, 16, 16)
    assert out["recon"].shape == out["dvae"].shape == (2, 3, 16, 16)
    torch.testing.assert_close(out["attn"].sum(1), torch.ones(2, 16))
    torch.testing.assert_close(out["masks"].sum(1), torch.ones(2, 16, 16))


def test_deeper_dvae_and_slot_inputs_without_coordinates_keep_the_shapes(tiny):
    from dataclasses import replace

    cfg = replace(tiny, dvae_encoder_blocks=2, dvae_decoder_blocks=3, slot_coords=False)
    model = Slate(cfg).eval()
    assert model.slot_pos is None
    out = model.reconstruct(torch.rand(2, 3, 16, 16))
    assert out["tokens"].shape == (2, 4, 4) and out["dvae"].shape == (2, 3, 16, 16)
    convs = [m for m in model.dvae.encoder if isinstance(m, torch.nn.Conv2d)]
    assert sum(c.kernel_size == (3, 3) for c in convs) == 2


def test_kv_cached_generation_gives_the_tokens_of_recomputing_every_prefix(tiny):
    model = Slate(tiny).eval()
    slots = torch.randn(3, 3, 16)
    cached = model.generate(slots, use_cache=True)
    assert cached.shape == (3, 4, 4)
    assert torch.equal(cached, model.generate(slots, use_cache=False))


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(tiny):
    model = Slate(tiny)
    tokens = torch.randint(0, 16, (4, 4, 4))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    first = model.token_loss(tokens, g.manual_seed(0))["loss"].item()
    for _ in range(50):
        loss = model.token_loss(tokens, g.manual_seed(0))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.token_loss(tokens, g.manual_seed(0))["loss"].item() < 0.8 * first


def test_the_joint_reference_step_trains_the_dvae_too(tiny):
    model = Slate(tiny)
    out = model.loss(torch.rand(2, 3, 16, 16), tau=1.0)
    out["loss"].backward()
    assert model.dvae.encoder[0].weight.grad.abs().sum() > 0
    assert model.decoder.head.weight.grad.abs().sum() > 0


def test_checkpoint_round_trip_is_bit_exact(tiny, tmp_path):
    model = Slate(tiny).eval()
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.cfg == model.cfg
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    image = torch.rand(1, 3, 16, 16)
    a = model.reconstruct(image, torch.Generator().manual_seed(1))
    b = loaded.reconstruct(image, torch.Generator().manual_seed(1))
    assert torch.equal(a["slots"], b["slots"]) and torch.equal(a["recon"], b["recon"])


def test_fg_ari_ignores_background_and_slot_order():
    truth = np.zeros((4, 4), int)
    truth[0, :2], truth[3, 2:] = 1, 2
    perfect = np.zeros((3, 4, 4))
    perfect[2][truth == 1] = 1  # object 1 in slot 2, object 2 in slot 0, background anywhere
    perfect[0][truth == 2] = 1
    perfect[1][truth == 0] = 1
    assert fg_ari(truth, perfect) == 1.0
    merged = np.zeros((3, 4, 4))
    merged[0] = 1  # one slot takes every object: no better than chance
    assert fg_ari(truth, merged) == 0.0


def test_codebook_kl_is_zero_for_even_use_and_log_v_for_one_token():
    import math

    from scenecraft.slate.dvae import codebook_kl, perplexity

    even = torch.zeros(2, 8, 4, 4)  # every token equally likely everywhere
    assert codebook_kl(even).item() == pytest.approx(0, abs=1e-6)
    one = torch.full((2, 8, 4, 4), -1e4)
    one[:, 3] = 0  # token 3 everywhere
    assert codebook_kl(one).item() == pytest.approx(math.log(8), rel=1e-4)
    # confident positions that together use all tokens evenly are not penalised
    spread = torch.full((1, 8, 1, 8), -1e4)
    spread[0, torch.arange(8), 0, torch.arange(8)] = 0
    assert codebook_kl(spread).item() == pytest.approx(0, abs=1e-5)
    assert perplexity(torch.arange(8).repeat(3), 8) == pytest.approx(8)
    assert perplexity(torch.zeros(10, dtype=torch.long), 8) == pytest.approx(1)


def test_the_usage_term_spreads_a_collapsed_codebook(tiny):
    from dataclasses import replace as dc_replace

    from scenecraft.slate.dvae import DVAE, codebook_kl

    dvae = DVAE(dc_replace(tiny, vocab_size=16))
    image = torch.rand(8, 3, 16, 16)
    opt = torch.optim.Adam(dvae.parameters(), lr=1e-2)
    before = codebook_kl(dvae.logits(image)).item()
    for _ in range(30):
        loss, _ = dvae.loss(image, 1.0, usage_weight=100.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert codebook_kl(dvae.logits(image)).item() < before / 2


def test_slot_attention_iterates_slot_iters_eval_times_outside_training(tiny):
    from dataclasses import replace as dc_replace

    from scenecraft.slate.slot_attention import SlotAttention

    attn = SlotAttention(dc_replace(tiny, slot_iters=3, slot_iters_eval=7), tiny.d_model)
    calls = []
    step = attn.step
    attn.step = lambda *a: calls.append(1) or step(*a)
    x = torch.randn(2, 16, tiny.d_model)
    attn.train()(x, 3)
    assert len(calls) == 3
    calls.clear()
    attn.eval()(x, 3)
    assert len(calls) == 7
    calls.clear()
    plain = SlotAttention(tiny, tiny.d_model).eval()  # slot_iters_eval 0: as in training
    plain_step = plain.step
    plain.step = lambda *a: calls.append(1) or plain_step(*a)
    plain(x, 3)
    assert len(calls) == tiny.slot_iters


def test_the_token_context_starts_as_the_identity_and_then_mixes_only_neighbours(tiny):
    from dataclasses import replace

    from scenecraft.slate.model import TokenContext

    ctx = TokenContext(d=4, n=2, grid=4)
    x = torch.randn(1, 16, 4)
    torch.testing.assert_close(ctx(x), x)  # zero-initialised residuals: safe to warm-start
    for conv in ctx.convs:
        torch.nn.init.normal_(conv.weight)
    y = x.clone()
    y[0, 0] += 10.0  # change the top-left token: two 3x3 layers reach two cells away, no further
    changed = (ctx(y) - ctx(x)).abs().sum(-1)[0].reshape(4, 4) > 1e-6
    assert changed[:3, :3].all() and not changed[3].any() and not changed[:, 3].any()
    model = Slate(replace(tiny, slot_encoder_convs=2)).eval()
    out = model.reconstruct(torch.rand(2, 3, 16, 16))
    assert out["slots"].shape == (2, 3, 16) and len(model.context.convs) == 2


def test_the_mask_code_starts_as_nothing_and_then_writes_the_masks_shape_into_the_slot(tiny):
    from dataclasses import replace

    from scenecraft.slate.model import MaskCode

    code = MaskCode(grid=4, slot_size=8)
    attn = torch.rand(2, 3, 16).softmax(1)
    assert not code(attn).any()  # zero-initialised: a warm start is unchanged
    torch.nn.init.normal_(code.out.weight)
    a, b = attn.clone(), attn.clone()
    b[0, 1], b[0, 2] = attn[0, 2], attn[0, 1]  # two slots swap regions: their codes swap
    ca, cb = code(a), code(b)
    torch.testing.assert_close(cb[0, 1], ca[0, 2])
    torch.testing.assert_close(cb[1], ca[1])
    model = Slate(replace(tiny, slot_mask_code=True)).eval()
    plain = Slate(tiny).eval()
    plain.load_state_dict(model.state_dict(), strict=False)
    image, g = torch.rand(2, 3, 16, 16), 0
    out = model.reconstruct(image, torch.Generator().manual_seed(g))
    ref = plain.reconstruct(image, torch.Generator().manual_seed(g))
    torch.testing.assert_close(out["slots"], ref["slots"])  # no code yet: the same slots
    loss = model.token_loss(model.dvae.tokens(image))["loss"]
    loss.backward()
    assert model.mask_code.out.weight.grad.abs().sum() > 0  # the code learns from the decoders
