"""``scenecraft eval slate`` and ``scenecraft train slate`` from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from scenecraft.cli import app
from scenecraft.slate.checkpoint import save_model
from scenecraft.slate.model import Slate


def test_eval_slate_writes_json_and_a_picture_grid(tiny, library, tmp_path):
    save_model(Slate(tiny), tmp_path / "ckpt")
    library.save(tmp_path / "ckpt")
    out = tmp_path / "slate.json"
    args = ["eval", "slate", "--model", str(tmp_path / "ckpt"), "--n", "4", "--combos", "2"]
    result = CliRunner().invoke(app, [*args, "--train-images", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n_scenes"] == 4 and len(report["scenes"]["fg_ari_per_scene"]) == 4
    back = report["scenes"]["dvae_read_back"]
    assert back["objects"] > 0 and 0 <= back["label"] <= back["shape"] <= 1
    assert back["per_shape"] and all(0 <= v <= 1 for v in back["per_shape"].values())
    assert 0 <= report["scenes"]["slate_read_back"]["label"] <= 1
    assert out.with_suffix(".png").stat().st_size > 0
    assert report["library_redrawn"] is None  # the hand-made library recorded no redrawing
    # the dVAE alone needs no concept library and measures the same as the full evaluation
    (tmp_path / "ckpt" / "concepts.json").unlink()
    alone = tmp_path / "dvae.json"
    args = ["eval", "slate", "--model", str(tmp_path / "ckpt"), "--n", "4", "--dvae-only"]
    result = CliRunner().invoke(app, [*args, "--out", str(alone)])
    assert result.exit_code == 0, result.output
    only = json.loads(alone.read_text())["scenes"]
    assert only["dvae_read_back"] == back
    assert only["mse_dvae"] == report["scenes"]["mse_dvae"]


def test_train_slate_names_the_presets_on_a_bad_one(tmp_path):
    result = CliRunner().invoke(app, ["train", "slate", "--out", str(tmp_path), "--preset", "x"])
    assert result.exit_code == 2
    assert "ship, small, reference" in result.output


def test_train_slate_set_names_a_bad_field_or_value(tmp_path):
    out = str(tmp_path / "run")
    bad_key = CliRunner().invoke(app, ["train", "slate", "--out", out, "--set", "batch=4"])
    assert bad_key.exit_code == 2 and "batch_size" in bad_key.output
    bad_value = CliRunner().invoke(
        app, ["train", "slate", "--out", out, "--set", "batch_size=many"]
    )
    assert bad_value.exit_code == 2 and "'many'" in bad_value.output


def test_train_slate_library_rebuilds_a_checkpoints_library(tiny, tmp_path):
    from scenecraft.slate.concepts import ConceptLibrary

    save_model(Slate(tiny), tmp_path / "ckpt")
    args = ["train", "slate-library", "--model", str(tmp_path / "ckpt"), "--images", "3"]
    result = CliRunner().invoke(app, [*args, "--clusters", "2"])
    assert result.exit_code == 0, result.output
    library = ConceptLibrary.load(tmp_path / "ckpt")
    assert len(library.labels) == len(library.decoded) == 3 * tiny.num_slots
    assert set(library.sources.tolist()) == {0, 1, 2}


def test_eval_slate_on_validation_scenes_with_other_slot_iterations(tiny, library, tmp_path):
    save_model(Slate(tiny), tmp_path / "ckpt")
    library.save(tmp_path / "ckpt")
    out = tmp_path / "val.json"
    args = ["eval", "slate", "--model", str(tmp_path / "ckpt"), "--n", "3", "--combos", "0"]
    result = CliRunner().invoke(
        app, [*args, "--split", "val", "--slot-iters", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["split"] == "val" and report["slot_iters"] == 5
    assert report["composition"]["n"] == 0
    bad = CliRunner().invoke(app, [*args, "--split", "test"])
    assert bad.exit_code == 2 and "--split" in bad.output


def test_eval_slate_variants_never_overwrite_the_main_report(tiny, tmp_path, monkeypatch):
    save_model(Slate(tiny), tmp_path / "ckpt")
    monkeypatch.chdir(tmp_path)
    args = ["eval", "slate", "--model", str(tmp_path / "ckpt"), "--n", "2", "--dvae-only"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, [*args, "--split", "val"]).exit_code == 0
    written = sorted(p.name for p in (tmp_path / "eval" / "results").glob("*.json"))
    assert written == ["slate_dvae.json", "slate_dvae_val.json"]


def test_read_back_counts_each_shape_over_its_colours(monkeypatch):
    from collections import Counter
    from types import SimpleNamespace

    import numpy as np

    import scenecraft.eval.slate as ev

    want = ["red circle", "blue circle", "red star", "red star"]
    got = ["red circle", "blue circle", "red star", "red heart"]
    monkeypatch.setattr(ev, "detect", lambda image: [SimpleNamespace(label=x) for x in got])
    read = Counter()
    originals = [[SimpleNamespace(label=x) for x in want]]  # the originals' detections
    ev._read_back(originals, np.zeros((1, 2, 2, 3)), read)
    rates = ev._read_back_rates(read)
    assert rates["label"] == 3 / 4 and rates["shape"] == 3 / 4
    assert rates["per_shape"] == {"circle": 1.0, "star": 0.5}


def test_the_slot_probe_reads_what_the_slots_hold_and_not_what_they_do_not():
    import numpy as np
    import torch

    from scenecraft.eval.slate import slot_probe
    from scenecraft.slate.concepts import ConceptLibrary

    rng = np.random.default_rng(0)
    colours, shapes = ["red", "blue"], ["circle", "star", "heart"]

    def slots(n):  # dimension 0 says the colour; the shape is in no dimension at all
        c = rng.integers(0, 2, n)
        s = rng.integers(0, 3, n)
        x = rng.normal(size=(n, 8)).astype(np.float32)
        x[:, 0] += 4 * c
        return x, [f"{colours[a]} {shapes[b]}" for a, b in zip(c, s, strict=True)]

    x, labels = slots(300)
    library = ConceptLibrary(
        slots=torch.from_numpy(x),
        labels=labels,
        centres=np.zeros((300, 2), np.float32),
        radii=np.zeros(300, np.float32),
        sources=np.arange(300),
        cluster=np.zeros(300, np.int64),
        names=["red circle"],
        purity=[1.0],
    )
    test_x, test_labels = slots(300)
    probe = slot_probe(library, test_x, test_labels)
    assert probe["objects"] == 300 and probe["colour"] > 0.95
    assert probe["shape"] < probe["shape_chance"] + 0.1  # no better than guessing
