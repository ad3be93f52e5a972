"""`scenecraft eval world-model` on the tiny random checkpoint: every section runs and reports."""

from __future__ import annotations

import json

from scenecraft.eval.world_model import main


def test_eval_writes_every_section_a_verdict_per_target_and_a_grid(tiny_sd, tmp_path):
    out = tmp_path / "wm.json"
    main(
        str(tiny_sd),
        out,
        n_single=2,
        n_grounded=2,
        lmd_per_category=1,
        n_inversion=1,
        steps=2,
        batch=2,
    )
    report = json.loads(out.read_text())
    assert {"single_object", "grounded", "lmd", "inversion", "targets"} <= set(report)
    assert report["grounded"]["n_layouts"] == 2 and report["grounded"]["objects"] >= 2
    assert 0 <= report["single_object"]["accuracy"] <= 1
    assert all(isinstance(v, bool) for v in report["targets"].values())
    assert out.with_suffix(".png").stat().st_size > 0
    assert report["draw"] == 0


def test_another_draw_asks_about_other_layouts_and_noise(monkeypatch):
    """A recheck draw judges fresh layouts and seeds, and draw 0 stays the card's set."""
    import numpy as np

    import scenecraft.eval.world_model as W
    from scenecraft.models import diffusion as D

    asked = []

    def fake_sample(model, prompt, **kw):
        asked.append((tuple(kw["grounding"].phrases), kw["generator"].initial_seed()))
        return D.SampleOut(images=np.zeros((1, 64, 64, 3), np.uint8), latents=None)

    monkeypatch.setattr(W.D, "sample", fake_sample)
    W.grounded(None, 6, steps=1, guidance=1.0, quiet=True)
    W.grounded(None, 6, steps=1, guidance=1.0, quiet=True)
    card = asked[:6]
    assert asked[6:] == card  # the same draw asks the same
    asked.clear()
    W.grounded(None, 6, steps=1, guidance=1.0, seed=10_000, quiet=True, first_scene=51_000)
    assert {s for _, s in asked}.isdisjoint({s for _, s in card})
    assert [p for p, _ in asked] != [p for p, _ in card]


def test_eval_refuses_an_empty_section_naming_the_option():
    from typer.testing import CliRunner

    from scenecraft.cli import app

    result = CliRunner().invoke(app, ["eval", "world-model", "--n-single", "0"])
    assert result.exit_code == 2 and "--n-single" in result.output


def test_eval_vae_reports_psnr_and_agreement_of_the_shipped_vae(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    out = tmp_path / "vae.json"
    result = CliRunner().invoke(app, ["eval", "vae", "--n", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n_scenes"] == 4 and report["psnr"] > 30
    assert 0 <= report["detector_agreement"] <= 1


def test_grounded_recall_tells_placement_apart_from_drawing(monkeypatch):
    """A 'model' that draws every object in its box but in the wrong colour: placed and shape
    recall are full, colour and object recall zero."""
    from dataclasses import replace

    import numpy as np

    import scenecraft.eval.world_model as W
    from scenecraft.models import diffusion as D
    from scenecraft.shapesworld.grammar import COLORS
    from scenecraft.shapesworld.render import render_scene
    from scenecraft.shapesworld.scene import sample_scene, split_seed

    calls = []
    colors = list(COLORS)

    def fake_sample(model, prompt, **kw):
        scene = sample_scene(split_seed("val", 50_000 + len(calls)), 1, 4)
        calls.append(prompt)
        assert [o.label for o in scene.objects] == kw["grounding"].phrases
        wrong = [
            replace(o, color=colors[(colors.index(o.color) + 1) % len(colors)])
            for o in scene.objects
        ]
        image = render_scene(replace(scene, objects=wrong), 128).image
        return D.SampleOut(images=np.asarray(image)[None], latents=None)

    monkeypatch.setattr(W.D, "sample", fake_sample)
    report, _ = W.grounded(None, 4, steps=1, guidance=1.0, quiet=True)
    assert report["objects"] >= 4
    assert report["placed_recall_iou50"] >= 0.9 and report["shape_recall_iou50"] >= 0.9
    assert report["colour_recall_iou50"] <= 0.1 and report["object_recall_iou50"] <= 0.1
