"""Training: resumable with the same result, cancellable as a queue job, and checkpointed."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from scenecraft.core.errors import Cancelled
from scenecraft.slate.train import TrainSpec, train


def spec_for(tiny, out, steps: int) -> TrainSpec:
    return TrainSpec(
        out=out,
        config=tiny,
        steps=steps,
        dvae_steps=3,
        train_images=12,
        val_images=4,
        library_images=4,
        library_clusters=3,
    )


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny, tmp_path):
    train(spec_for(tiny, tmp_path / "straight", 6))
    train(spec_for(tiny, tmp_path / "resumed", 2))
    summary = train(spec_for(tiny, tmp_path / "resumed", 6))
    assert summary["step"] == 6 and summary["dvae_step"] == 3
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = [
        json.loads(line) for line in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    ]
    assert 0.0 <= log[-1]["fg_ari"] <= 1.0 and log[-1]["val_ce"] > 0
    index = json.loads((tmp_path / "resumed" / "concepts.json").read_text())
    assert len(index["decoded"]) == len(index["labels"]) == 4 * tiny.num_slots


def test_an_interrupted_run_keeps_its_progress(tiny, tmp_path):
    seen = []

    def stop_after_four(p):
        seen.append((p.stage, p.step))
        if p.stage == "slate" and p.step == 4:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train(spec_for(tiny, tmp_path, 10), stop_after_four)
    state = torch.load(tmp_path / "train_state.pt", weights_only=False)["state"]
    assert state["step"] == 4 and state["dvae_step"] == 3
    resumed = []
    train(spec_for(tiny, tmp_path, 10), lambda p: resumed.append((p.stage, p.step)))
    assert ("slate", 5) in resumed and ("slate", 4) not in resumed


def test_a_different_config_in_the_same_folder_is_refused(tiny, tmp_path):
    train(spec_for(tiny, tmp_path, 1))
    with pytest.raises(ValueError, match="different config"):
        train(spec_for(replace(tiny, num_slots=4), tmp_path, 1))


def test_a_new_run_continues_a_finished_checkpoint_with_its_weights_and_counters(tiny, tmp_path):
    train(spec_for(tiny, tmp_path / "first", 2))
    first = load_file(tmp_path / "first" / "model.safetensors")
    spec = replace(spec_for(tiny, tmp_path / "second", 2), init_from=tmp_path / "first")
    summary = train(spec)  # already at 2 steps: nothing to train, the weights stay
    assert summary["step"] == 2
    kept = load_file(tmp_path / "second" / "model.safetensors")
    assert all(torch.equal(first[k], kept[k]) for k in first)
    summary = train(replace(spec, steps=4))
    assert summary["step"] == 4 and summary["dvae_step"] == 3
    dvae = [k for k in first if k.startswith("dvae.")]
    after = load_file(tmp_path / "second" / "model.safetensors")
    assert all(torch.equal(first[k], after[k]) for k in dvae)  # the dVAE is not trained again
    assert not all(torch.equal(first[k], after[k]) for k in first)
    with pytest.raises(ValueError, match="another model config .*num_slots 3 vs 4"):
        train(replace(spec, out=tmp_path / "third", config=replace(tiny, num_slots=4)))
    # how it is trained may change: a lower rate that decays from where the checkpoint stopped
    slower = replace(tiny, lr=tiny.lr / 4, lr_decay_from=4)
    assert train(replace(spec, out=tmp_path / "fourth", config=slower, steps=6))["step"] == 6
    # so may the weight of the mixture decoder's loss, but not whether there is one
    heavier = replace(tiny, mixture_weight=2 * tiny.mixture_weight)
    assert train(replace(spec, out=tmp_path / "fifth", config=heavier, steps=3))["step"] == 3
    with pytest.raises(ValueError, match="mixture_weight"):
        train(replace(spec, out=tmp_path / "sixth", config=replace(tiny, mixture_weight=0.0)))


def test_the_learning_rate_decays_to_zero_from_lr_decay_from_to_the_last_step(tiny, tmp_path):
    from scenecraft.slate.train import Trainer

    trainer = Trainer(spec_for(replace(tiny, lr_decay_from=10), tmp_path, 20))
    rates = []
    for step in (0, 9, 10, 15, 19, 20):
        trainer._set_lr(step)
        rates.append(trainer.opt.param_groups[0]["lr"])
    assert rates[:3] == [tiny.lr] * 3
    assert rates[3] == pytest.approx(tiny.lr / 2)
    assert 0 < rates[4] < tiny.lr * 0.03 and rates[5] == 0


def test_a_dvae_only_run_trains_no_slots_and_builds_no_library(tiny, tmp_path):
    summary = train(spec_for(tiny, tmp_path, 0))
    assert summary["dvae_step"] == 3 and summary["step"] == 0
    assert not (tmp_path / "concepts.json").exists()


def test_a_warm_start_takes_the_slot_model_but_not_the_dvae_or_token_layers(tiny, tmp_path):
    train(spec_for(tiny, tmp_path / "first", 2))
    train(spec_for(tiny, tmp_path / "dvae", 0))  # a dVAE-only run: its slot model is untrained
    first = load_file(tmp_path / "first" / "model.safetensors")
    dvae = load_file(tmp_path / "dvae" / "model.safetensors")
    spec = replace(
        spec_for(tiny, tmp_path / "new", 0),
        init_from=tmp_path / "dvae",
        warm_start=tmp_path / "first",
    )
    train(spec)
    got = load_file(tmp_path / "new" / "model.safetensors")
    token_layers = ("tok_emb.", "decoder.head.", "mixture.readout.")
    for k in got:
        source = dvae if k.startswith(("dvae.", *token_layers)) else first
        assert torch.equal(got[k], source[k]), k
    assert not torch.equal(first["slot_attn.to_q.weight"], dvae["slot_attn.to_q.weight"])
    with pytest.raises(ValueError, match="does not fit .*slot_attn"):
        other = replace(tiny, slot_size=tiny.slot_size * 2)
        train(replace(spec, out=tmp_path / "other", init_from=None, config=other))
    # a token context neither source was trained with is new, as the identity; the rest loads
    ctx = replace(tiny, slot_encoder_convs=1)
    train(replace(spec, out=tmp_path / "ctx", config=ctx))
    got = load_file(tmp_path / "ctx" / "model.safetensors")
    assert torch.equal(got["slot_attn.to_q.weight"], first["slot_attn.to_q.weight"])
    assert torch.equal(got["dvae.encoder.0.weight"], dvae["dvae.encoder.0.weight"])
    assert not got["context.convs.0.weight"].any()
    # so is a mask code, with the slot model warm-started and with a whole checkpoint continued
    coded = replace(tiny, slot_mask_code=True)
    train(replace(spec, out=tmp_path / "coded", config=coded))
    got = load_file(tmp_path / "coded" / "model.safetensors")
    assert torch.equal(got["slot_attn.to_q.weight"], first["slot_attn.to_q.weight"])
    assert not got["mask_code.out.weight"].any()
    cont = replace(spec, out=tmp_path / "coded2", config=coded, warm_start=None, steps=2)
    assert train(replace(cont, init_from=tmp_path / "first"))["step"] == 2


def test_a_warm_start_from_a_folder_without_weights_is_refused_naming_the_option(tiny, tmp_path):
    spec = replace(spec_for(tiny, tmp_path / "new", 0), warm_start=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="--warm-start .*nowhere.*model.safetensors"):
        train(spec)


def test_an_init_from_folder_without_a_checkpoint_is_refused_naming_the_option(tiny, tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text(tiny.to_json())
    spec = replace(spec_for(tiny, tmp_path / "new", 0), init_from=tmp_path / "half")
    with pytest.raises(ValueError, match="--init-from .*half: no model.safetensors, log.jsonl"):
        train(spec)


def test_the_slot_stage_starts_from_the_best_dvae_not_a_collapsed_last_one(tiny, tmp_path):
    from scenecraft.slate.train import BEST_DVAE, Trainer

    spec = replace(spec_for(tiny, tmp_path, 0), checkpoint_every_s=0.0)  # every step is logged
    trainer = None

    def collapse_after_step_two(p):
        if p.stage == "dvae" and p.step == 2:  # the dVAE breaks before its last step
            with torch.no_grad():
                trainer.model.dvae.decoder[-1].weight.zero_()
                trainer.model.dvae.decoder[-1].bias.fill_(5.0)

    trainer = Trainer(spec, collapse_after_step_two)
    trainer.run()
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    by_step = {e["dvae_step"]: e for e in log[:-1]}
    assert by_step[3]["val_mse_tokens"] > 10 * by_step[2]["val_mse_tokens"]
    assert log[-1]["val_mse_tokens"] == by_step[2]["val_mse_tokens"]  # the restored dVAE
    assert 1.0 <= log[-1]["val_perplexity"] <= tiny.vocab_size
    saved = load_file(tmp_path / "model.safetensors")
    best = load_file(tmp_path / BEST_DVAE)
    assert all(torch.equal(saved[f"dvae.{k}"], v) for k, v in best.items())
    state = torch.load(tmp_path / "train_state.pt", weights_only=False)["state"]
    assert state["dvae_selected"] and state["best_dvae_step"] == 2
