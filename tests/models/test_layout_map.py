"""The layout map: painting, a UNet grown to take it, sampling and training with it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from scenecraft.models import diffusion as D
from scenecraft.models.layout_map import expand_conv_in, layout_channels, paint_layout
from scenecraft.models.world_model.architecture import build_unet
from scenecraft.models.world_model.tiny import TINY, save_tiny_pipeline
from scenecraft.training.tiny import tiny_train_config
from scenecraft.training.world_model import train


def test_boxes_are_painted_with_their_embedding_and_coverage():
    boxes = torch.tensor([[[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.75, 0.625], [0, 0, 1, 1]]])
    emb = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])
    masks = torch.tensor([[1.0, 1.0, 0.0]])  # the third box is padding
    m = paint_layout(boxes, emb, masks, 4, 4)
    assert m.shape == (1, 3, 4, 4)
    occ = m[0, 2]
    # box 0 covers cells (0..1, 0..1); box 1 covers (1..2, 1..2) and half of row 2 below
    np.testing.assert_allclose(occ[0], [1, 1, 0, 0])
    np.testing.assert_allclose(occ[2], [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(occ[3], [0, 0, 0, 0])
    np.testing.assert_allclose(m[0, :2, 0, 0], [1, 0])  # box 0 alone
    np.testing.assert_allclose(m[0, :2, 1, 1], [0, 2])  # box 1 drawn over box 0
    np.testing.assert_allclose(m[0, :2, 2, 1], [0, 1])  # half of box 1 over nothing
    assert float(m[..., 3, :].abs().sum()) == 0  # padding paints nothing


def test_a_box_smaller_than_a_cell_still_shows():
    boxes = torch.tensor([[[0.30, 0.30, 0.40, 0.40]]])
    m = paint_layout(boxes, torch.ones(1, 1, 1), torch.ones(1, 1), 4, 4)
    assert m[0, 1, 1, 1] == pytest.approx(0.16)
    assert float(m[0, 1].sum()) == pytest.approx(0.16)


def test_a_grown_unet_computes_what_it_did_until_it_learns_the_map():
    torch.manual_seed(0)
    plain = build_unet(TINY).eval()
    grown_cfg = replace(TINY, layout_map=True)
    grown = build_unet(grown_cfg).eval()
    assert layout_channels(grown.config, TINY.latent_channels) == TINY.text_hidden + 1
    assert layout_channels(plain.config, TINY.latent_channels) == 0
    grown.load_state_dict(expand_conv_in(plain.state_dict(), grown.config.in_channels))
    z = torch.randn(1, TINY.latent_channels, 8, 8)
    ctx = torch.randn(1, 5, TINY.text_hidden)
    layout = torch.randn(1, TINY.text_hidden + 1, 8, 8)
    with torch.no_grad():
        want = plain(z, 10, ctx).sample
        got = grown(torch.cat([z, layout], 1), 10, ctx).sample
    torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="more than"):
        expand_conv_in(grown.state_dict(), TINY.latent_channels)


@pytest.fixture(scope="module")
def layout_model(tmp_path_factory):
    path = save_tiny_pipeline(
        tmp_path_factory.mktemp("layout") / "m", replace(TINY, layout_map=True)
    )
    return D.load(path, cache={})


def test_sampling_paints_the_boxes_for_the_conditional_rows_and_steps_asked(layout_model):
    m = layout_model
    assert m.layout_channels == TINY.text_hidden + 1 and m.can_ground
    seen: list[torch.Tensor] = []
    hook = m.pipe.unet.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    try:
        g = D.Grounding(["red circle"], [[0.0, 0.0, 0.5, 0.5]], layout_fraction=0.5)
        out = D.sample(m, "a red circle", steps=4, guidance=3.0, grounding=g)
        assert out.images.shape == (1, 64, 64, 3) and out.latents.shape[1] == TINY.latent_channels
        occ = [x[:, -1] for x in seen]  # the coverage channel: [uncond, cond] rows
        assert len(occ) == 4
        for step, o in enumerate(occ):
            assert float(o[0].abs().sum()) == 0  # unconditional: no layout
            if step < 2:
                assert float(o[1, :4, :4].min()) == 1 and float(o[1, 4:].sum()) == 0
            else:
                assert float(o[1].abs().sum()) == 0
        seen.clear()
        D.sample(m, "a star", steps=2)  # text alone: an all-zero map
        assert all(float(x[:, TINY.latent_channels :].abs().sum()) == 0 for x in seen)
        seen.clear()
        inv = D.invert(m, out.images, "a red circle", steps=2)
        assert inv.latents.shape == out.latents.shape
        assert all(x.shape[1] == TINY.latent_channels + m.layout_channels for x in seen)
    finally:
        hook.remove()


TINY_32 = replace(TINY, image_size=32)


def test_a_run_adopted_with_a_layout_map_grows_its_unet_and_trains_with_boxes(tmp_path):
    first = tmp_path / "first"
    train(first, config=TINY_32, train_config=tiny_train_config(p_plain=0.0))
    second = tmp_path / "second"
    model = train(
        second,
        steps=4,
        init_from=first,
        train_config=tiny_train_config(p_plain=0.0),
        overrides=["layout_map=true"],
    )
    cfg = json.loads((second / "config.json").read_text())
    assert cfg["model"]["layout_map"] is True and "layout_map=true" in cfg["overrides"]
    loaded = D.load(model, cache={})
    assert loaded.layout_channels == TINY.text_hidden + 1
    # the layout weights moved from zero: the boxes reached the UNet in training
    w = loaded.pipe.unet.conv_in.weight[:, TINY.latent_channels :]
    assert float(w.detach().abs().sum()) > 0
    evals = [json.loads(x) for x in (second / "evals.jsonl").read_text().splitlines()]
    assert "grounded" in [e for e in evals if e["stage"] == "unet"][-1]


def test_eval_layout_fraction_reports_every_share(layout_model, tmp_path, monkeypatch):
    from scenecraft.eval import layout_fraction as LF

    out = tmp_path / "lf.json"
    model = str(layout_model.pipe.name_or_path)
    report = LF.main(model, out, [0.0, 1.0], n=2, steps=2, guidances=(1.0, 5.0))
    grid = [(r["guidance"], r["fraction"]) for r in report["rows"]]
    assert grid == [(1.0, 0.0), (1.0, 1.0), (5.0, 0.0), (5.0, 1.0)]
    row = report["rows"][1]
    assert 0 <= row["single_placed"] <= 1 and row["scene_objects"] >= 2
    # the text-alone check depends on the guidance scale only
    assert report["rows"][0]["text_single_right"] == row["text_single_right"]
    assert json.loads(out.read_text())["rows"] == report["rows"]


def test_eval_layout_fraction_refuses_a_model_without_a_map(tiny_sd, tmp_path):
    from scenecraft.eval import layout_fraction as LF

    with pytest.raises(ValueError, match="takes no layout map"):
        LF.main(str(tiny_sd), tmp_path / "x.json", [1.0], n=1, steps=1)


@pytest.mark.parametrize("bad", ["0,x", "0,1.5", ""])
def test_eval_layout_fraction_names_a_bad_fraction(bad):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    result = CliRunner().invoke(app, ["eval", "layout-fraction", "--fractions", bad])
    assert result.exit_code == 2 and "--fractions" in result.output


@pytest.mark.parametrize("bad", ["3,x", "0.5", ""])
def test_eval_layout_fraction_names_a_bad_guidance(bad):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    result = CliRunner().invoke(app, ["eval", "layout-fraction", "--guidance", bad])
    assert result.exit_code == 2 and "--guidance" in result.output


def test_box_cover_is_the_union_of_the_boxes_and_skips_padding():
    from scenecraft.models.layout_map import box_cover

    boxes = torch.tensor([[[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.75, 0.625], [0, 0, 1, 1]]])
    cover = box_cover(boxes, torch.tensor([[1.0, 1.0, 0.0]]), 4, 4)
    assert cover.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(cover[0, 0, 0], [1, 1, 0, 0])
    np.testing.assert_allclose(cover[0, 0, 1], [1, 1, 1, 0])  # overlap counts once
    np.testing.assert_allclose(cover[0, 0, 2], [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(cover[0, 0, 3], [0, 0, 0, 0])  # the padding box paints nothing
