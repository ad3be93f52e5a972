"""World-model recipes: settings over the default recipe, the bake-off that compares recipes in
equal CPU minutes, and shipping a model that the next session continues from."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest
import torch

from scenecraft.models.world_model.architecture import WorldModelConfig, build_vae
from scenecraft.models.world_model.tiny import TINY
from scenecraft.training.world_model import TrainConfig, train, unet_lr, with_overrides

# the tiny architecture at 64 px, said as settings (the bake-off and ship take settings)
TINY_SETTINGS = [
    "image_size=64",
    "latent_channels=4",
    "vae_channels=[16,16,16,16]",
    "text_hidden=32",
    "text_layers=1",
    "text_heads=2",
    "unet_channels=[32,32,32]",
    "unet_head_dim=8",
    "batch=4",
    "checkpoint_s=0",
    "log_every=1",
]


def test_settings_take_json_values_for_model_and_training_fields():
    cfg, tc = with_overrides(
        WorldModelConfig(),
        TrainConfig(),
        ["unet_channels=[32,64,128]", "p_plain=0.1", "lr=1", "amp=false", "batch=16"],
    )
    assert cfg.unet_channels == (32, 64, 128)
    assert (tc.p_plain, tc.lr, tc.amp, tc.batch) == (0.1, 1.0, False, 16)
    down = 'unet_down=["CrossAttnDownBlock2D","DownBlock2D","DownBlock2D"]'
    assert with_overrides(cfg, tc, [down])[0].unet_down[0] == "CrossAttnDownBlock2D"


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("batch=1.5", "batch takes a int"),
        ("batch=true", "batch takes a int"),
        ("amp=1", "amp takes a bool"),
        ("unet_channels=64", "unet_channels takes a tuple"),
        ('unet_channels=[32,"x"]', "unet_channels takes a tuple"),
        ("no_such_field=3", "'no_such_field=3'"),
        ("batch", "expected KEY=VALUE"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(item, named):
    with pytest.raises(ValueError, match="--set") as err:
        with_overrides(WorldModelConfig(), TrainConfig(), [item])
    assert named in str(err.value)


def test_the_cli_refuses_a_bad_setting_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "world-model", "--out", str(out), "--set", "p_plain=often"]
    )
    assert result.exit_code == 2 and "p_plain takes a float" in result.output
    assert not (out / "vae").exists()


def _finished_vae(path):
    """A tiny VAE folder shaped like scenecraft/assets/shapes-sd-vae (weights + provenance)."""
    torch.manual_seed(0)
    build_vae(TINY).save_pretrained(path)
    done = {"step": 2, "wall": 1.0, "psnr": 20.0, "detector_agreement": 0.5}
    (path / "provenance.json").write_text(
        json.dumps(
            {
                "command": "tiny",
                "seed": 0,
                "hardware": "test",
                "evals": [{"stage": "vae_done", **done}],
            }
        )
    )
    return path


def test_bakeoff_trains_every_candidate_to_the_same_cpu_minutes_and_resumes(tmp_path, monkeypatch):
    from scenecraft.eval import world_model_bakeoff as B

    monkeypatch.setattr(B, "CANDIDATES", {"plain": [], "grounded": ["p_plain=0.0"]})
    vae = _finished_vae(tmp_path / "vae")
    out = tmp_path / "bake.json"
    kw = dict(n_latents=8, base=TINY_SETTINGS, n_single=2, n_grounded=1, steps=2)
    report = B.main(tmp_path / "runs", out, ["plain", "grounded"], 0.06, 0.03, vae, **kw)
    for name in ("plain", "grounded"):
        rows = report["curves"][name]
        assert [r["mark_min"] for r in rows] == [0.03, 0.06]
        # each stopped at its mark of training time, at the first step past it (read from the
        # per-step log, not from a clock: a busy machine makes single steps slow)
        log = tmp_path / "runs" / name / "log.jsonl"
        wall = {
            row["step"]: row["wall"]
            for row in map(json.loads, log.read_text().splitlines())
            if row.get("stage") == "unet"
        }
        for r in rows:
            assert r["cpu_min"] >= r["mark_min"]
            assert wall.get(r["steps"] - 1, 0.0) < r["mark_min"] * 60
        # (a step slower than a mark on a busy machine may leave a mark with no step of its own)
        assert 0 <= rows[-1]["single_object"] <= 1 and rows[-1]["steps"] >= rows[0]["steps"] > 0
        assert all(r["train_loss"] is not None for r in rows)
    run_cfg = json.loads((tmp_path / "runs" / "grounded" / "config.json").read_text())
    assert run_cfg["train"]["p_plain"] == 0.0 and run_cfg["model"]["image_size"] == 64
    # one setting per field however often the run was resumed
    keys = [o.partition("=")[0] for o in run_cfg["overrides"]]
    assert len(keys) == len(set(keys))
    assert json.loads(out.read_text())["curves"]["plain"] == report["curves"]["plain"]
    assert out.with_suffix(".png").stat().st_size > 0
    # a rerun finds every mark done: nothing trains again
    steps = torch.load(tmp_path / "runs" / "plain" / "unet_state.pt", weights_only=False)["step"]
    again = B.main(tmp_path / "runs", out, ["plain"], 0.06, 0.03, vae, **kw)
    assert again["curves"]["plain"] == report["curves"]["plain"]
    after = torch.load(tmp_path / "runs" / "plain" / "unet_state.pt", weights_only=False)["step"]
    assert after == steps
    with pytest.raises(ValueError, match="unknown candidates"):
        B.main(tmp_path / "runs", out, ["nope"], 0.06, 0.03, vae, **kw)


def _judged(model, path):
    from scenecraft.eval.world_model import main

    main(str(model), path, n_single=2, n_grounded=1, lmd_per_category=1, n_inversion=1, steps=2)
    return path


def test_ship_writes_fp16_with_a_history_and_the_next_run_continues_from_it(tmp_path):
    from safetensors.torch import load_file

    from scenecraft.training.ship import ship

    vae = _finished_vae(tmp_path / "vae")
    tc = TrainConfig(n_latents=8, unet_steps=3, eval_every=10**9, log_every=1)
    first = tmp_path / "first"
    # settings about the machine it ran on (a leased GPU's loader processes) are not the model's
    train(first, train_config=tc, vae_from=vae, overrides=[*TINY_SETTINGS, "loader_workers=0"])
    dest = tmp_path / "assets" / "shapes-sd"
    (tmp_path / "pyproject.toml").write_text("")  # tmp_path stands for the repository
    # as a leased GPU returns a run: the exported model and the records, no checkpoint
    (first / "unet_state.pt").unlink()
    assert ship(first, _judged(first / "model", tmp_path / "r1.json"), dest, "s1")
    weights = load_file(dest / "unet" / "diffusion_pytorch_model.safetensors")
    assert all(t.dtype == torch.float16 for t in weights.values())
    rec = json.loads((dest / "training.json").read_text())
    assert [h["label"] for h in rec["history"]] == ["s1"] and rec["steps"] == 3
    assert rec["history"][0]["on"] == "CPU" and rec["history"][0]["minutes"] >= 0
    assert rec["samples"] == 3 * 4
    card = (dest / "README.md").read_text()
    assert "| s1 |" in card and "single object right" in card and "batch=4" in card

    # the next session: continue the shipped model (its architecture and settings come with it)
    second = tmp_path / "second"
    vae_before = load_file(dest / "vae" / "diffusion_pytorch_model.safetensors")
    # a preset that fine-tunes the decoder must not touch an adopted model's VAE
    model = train(second, steps=5, init_from=dest, train_config=replace(tc, decoder_steps=3))
    vae_after = load_file(model / "vae" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(vae_before[k].float(), vae_after[k].float()) for k in vae_before)
    cfg = json.loads((second / "config.json").read_text())
    assert cfg["model"] == {**asdict(WorldModelConfig()), **cfg["model"]}
    assert cfg["model"]["image_size"] == 64 and cfg["train"]["batch"] == 4
    assert "batch=4" in cfg["overrides"]
    assert not any(o.startswith("loader_workers") for o in cfg["overrides"])
    state = torch.load(second / "unet_state.pt", weights_only=False)
    assert state["step"] == 5
    report = _judged(model, tmp_path / "r2.json")
    # a model that measures no better is not shipped unless forced
    r = json.loads(report.read_text())
    r["single_object"]["accuracy"] = r["grounded"]["object_recall_iou50"] = -1.0
    report.write_text(json.dumps(r))
    weights_before = (dest / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert not ship(second, report, dest, "s2")
    # the shipped model stays, and its record and card say that a session trained and lost
    assert (dest / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == weights_before
    rec = json.loads((dest / "training.json").read_text())
    assert [h["label"] for h in rec["history"]] == ["s1"]
    assert [(h["label"], h["from_steps"], h["steps"]) for h in rec["not_shipped"]] == [("s2", 3, 5)]
    assert rec["not_shipped"][0]["report_file"] == "r2.json"  # cited from the repository's root
    # the row names every command of the run (its last may be an export-only resume)
    assert rec["not_shipped"][0]["command"] == " ; then ".join(cfg["commands"])
    assert "did not ship" in (dest / "README.md").read_text()
    assert "| 3 -> 5 |" in (dest / "README.md").read_text()
    # a close call rechecked on one fresh draw judged for both: each scored by its mean over the
    # card's draw and that one
    from scenecraft.training.ship import score

    old = score(rec["report"])

    def judged(name: str, model, value: float, draw: int = 1):
        rep = json.loads(report.read_text()) | {"model": str(model), "draw": draw}
        rep["single_object"]["accuracy"] = rep["grounded"]["object_recall_iou50"] = value
        (tmp_path / name).write_text(json.dumps(rep))
        return tmp_path / name

    close = judged("close.json", model, old - 0.1, draw=0)
    worse = (judged("c1.json", model, old + 0.05), judged("s1.json", dest, old))
    assert not ship(second, close, dest, "s2", recheck=worse)  # (-0.1 + 0.05) / 2 < 0
    assert json.loads((dest / "training.json").read_text())["not_shipped"][-1]["recheck"] == {
        "draw": 1,
        "candidate": old + 0.05,
        "shipped": old,
        "files": [str(p) for p in worse],
    }
    with pytest.raises(ValueError, match="draw"):
        ship(second, close, dest, "s2", recheck=(worse[0], judged("s0.json", dest, old, 0)))
    with pytest.raises(ValueError, match="judged"):
        ship(second, close, dest, "s2", recheck=(worse[1], worse[0]))
    better = (judged("c2.json", model, old + 0.3), judged("s2.json", dest, old - 0.1))
    assert ship(second, close, dest, "s2", recheck=better)  # (-0.1 + 0.3) / 2 > -0.1 / 2
    assert json.loads((dest / "training.json").read_text())["history"][-1]["recheck"]["draw"] == 1
    assert ship(second, report, dest, "s2", force=True)
    rec = json.loads((dest / "training.json").read_text())
    # a record of a session is kept (and of its rechecked try)
    assert [h["label"] for h in rec["not_shipped"]] == ["s2", "s2"]
    assert [h["label"] for h in rec["history"]] == ["s1", "s2"]
    assert rec["steps"] == 5 and rec["samples"] == 5 * 4
    assert len(rec["commands"]) >= 1
    # a report of another model is refused
    with pytest.raises(ValueError, match="judged"):
        ship(first, report, dest, "wrong")
    # the second row counts only the second run's own training time
    rows = rec["history"]
    assert rows[1]["minutes"] <= rec["wall"] / 60 + 1e-6
    # after a change of the judge, the shipped model judged again on the card's draw stands for
    # it: a candidate below the shipped row's figure wins when the new judge reads the shipped
    # model lower still
    now = score(rec["report"])
    below = judged("below.json", model, now - 0.1, draw=0)
    assert not ship(second, below, dest, "s3")
    with pytest.raises(ValueError, match="draw 0"):
        ship(second, below, dest, "s3", shipped_report=judged("s_d1.json", dest, now - 0.2))
    rejudged = judged("s_again.json", dest, now - 0.2, draw=0)
    assert ship(second, below, dest, "s3", shipped_report=rejudged)
    again = json.loads((dest / "training.json").read_text())["history"][-1]["shipped_rejudged"]
    assert again == {"file": "s_again.json", "score": now - 0.2, "row_score": now}


def test_unet_lr_warms_up_then_follows_a_cosine_over_training_seconds_to_its_floor():
    flat = TrainConfig(lr=1e-3, warmup=10)
    assert unet_lr(flat, 0, 0.0) == pytest.approx(1e-4)
    assert unet_lr(flat, 9, 0.0) == unet_lr(flat, 5000, 9e9) == pytest.approx(1e-3)
    tc = with_overrides(WorldModelConfig(), flat, ["decay_s=100", "lr_floor=0.1"])[1]
    assert unet_lr(tc, 50, 0.0) == pytest.approx(1e-3)
    assert unet_lr(tc, 50, 50.0) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert unet_lr(tc, 50, 100.0) == unet_lr(tc, 50, 1e6) == pytest.approx(1e-4)
    lrs = [unet_lr(tc, 50, t) for t in range(0, 101, 10)]
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    # warm-up still scales a decaying rate (a run adopted late in its schedule)
    assert unet_lr(tc, 0, 50.0) == pytest.approx(unet_lr(tc, 50, 50.0) / 10)
