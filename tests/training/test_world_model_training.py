"""World-model training: tokenizer, data, a tiny resumable run exported as a diffusers folder."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from scenecraft.models.world_model.architecture import (
    build_tokenizer,
    vocabulary_words,
)
from scenecraft.models.world_model.tiny import TINY as TINY_64
from scenecraft.shapesworld.scene import SPLITS
from scenecraft.training.scenes import make_caption, training_scene
from scenecraft.training.tiny import tiny_train_config
from scenecraft.training.world_model import TrainConfig, train


def test_every_grammar_word_is_one_token_and_reloads_offline(tmp_path):
    from transformers import CLIPTokenizer

    tok = build_tokenizer(32)
    for w in vocabulary_words():
        assert len(tok(w).input_ids) == 3, w  # bos, word, eos
    tok.save_pretrained(tmp_path)
    again = CLIPTokenizer.from_pretrained(tmp_path)
    text = "three pink hexagons to the left of a zebra"
    assert again(text).input_ids == tok(text).input_ids
    assert again.model_max_length == 32
    ids = tok("zebra").input_ids  # unknown words fall back to pieces, not to one unknown id
    assert len(set(ids[1:-1])) > 1


def test_the_tokenizer_is_the_same_in_every_build_and_process(tmp_path):
    # training, a resumed run and the export each build it: the ids must not move between them
    # (the `tokenizers` trainer gave "a", "in" and "no" new ids in every build)
    import subprocess
    import sys

    build_tokenizer(32).save_pretrained(tmp_path / "here")
    code = (
        "import sys; from scenecraft.models.world_model.architecture import build_tokenizer; "
        "build_tokenizer(32).save_pretrained(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):  # vocabulary and merges
        here, there = (tmp_path / d / name for d in ("here", "there"))
        assert here.read_text() == there.read_text(), name
    a, b = build_tokenizer(32), build_tokenizer(32)
    words = " ".join(vocabulary_words())
    assert a(words).input_ids == b(words).input_ids


def test_training_scenes_are_seeded_and_captioned_with_every_box():
    a, b = training_scene(7), training_scene(7)
    assert a.to_dict() == b.to_dict()
    assert SPLITS["train"][0] <= 7 < SPLITS["train"][1]
    rng = np.random.default_rng(0)
    for i in range(40):
        scene = training_scene(i)
        cap = make_caption(scene, rng)
        assert len(cap.phrases) == len(cap.boxes) == len(scene.objects)
        for (x0, y0, x1, y1), o in zip(cap.boxes, scene.objects, strict=True):
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
            assert o.shape in cap.phrases[scene.objects.index(o)]
        if cap.complete:
            assert all(o.shape in cap.text for o in scene.objects)


def pipe_unet_state(model) -> dict:
    from safetensors.torch import load_file

    return load_file(model / "unet" / "diffusion_pytorch_model.safetensors")


# the shared tiny architecture at 32 px, so a few training steps take seconds
TINY = replace(TINY_64, image_size=32)


def test_tiny_run_resumes_and_exports_a_loadable_pipeline(tmp_path):
    from diffusers import StableDiffusionGLIGENPipeline, StableDiffusionPipeline

    tc = tiny_train_config()
    out = tmp_path / "run"
    train(out, config=TINY, train_config=tc)
    with pytest.raises(FileExistsError, match="--resume"):
        train(out, config=TINY, train_config=tc)
    model = train(
        out, steps=4, resume=True, latents=12, decoder_steps=2, config=TINY, train_config=tc
    )
    state = torch.load(out / "unet_state.pt", weights_only=False)
    assert state["step"] == 4
    assert len(torch.load(out / "latents.pt", weights_only=False)["scenes"]) == 12
    unet_steps = [
        json.loads(x)["step"]
        for x in (out / "log.jsonl").read_text().splitlines()
        if json.loads(x)["stage"] == "unet"
    ]
    assert unet_steps == sorted(unet_steps)
    evals = [json.loads(x) for x in (out / "evals.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals if e["stage"] == "unet"] == [2, 4]
    assert {"single_ok", "shape", "color"} <= set(evals[-1])
    assert [e["step"] for e in evals if e["stage"] == "decoder_done"] == [2]
    assert (out / "loss_unet.png").exists() and (out / "loss_vae.png").exists()
    card = (model / "README.md").read_text()
    assert "steps: 4" in card and "decoder-only fine-tuning: 2 steps" in card
    # the GLIGEN gates started open (TrainConfig.gate_init) and moved little in 4 steps
    gates = [v for k, v in pipe_unet_state(model).items() if ".fuser.alpha_" in k]
    assert gates and all(abs(float(g) - tc.gate_init) < 0.05 for g in gates)
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None)
    img = pipe("a red star", num_inference_steps=2, output_type="np").images
    assert img.shape == (1, 32, 32, 3)
    gligen = StableDiffusionGLIGENPipeline.from_pretrained(model, safety_checker=None)
    img = gligen(
        "a red star",
        gligen_phrases=["red star"],
        gligen_boxes=[[0.1, 0.1, 0.6, 0.6]],
        num_inference_steps=2,
        output_type="np",
    ).images
    assert img.shape == (1, 32, 32, 3)


def test_unet_batches_depend_on_the_step_alone_whichever_process_builds_them():
    from scenecraft.training.world_model import _Batches, make_batch

    scenes = [training_scene(i) for i in range(50)]
    tok = build_tokenizer(32)
    tc = TrainConfig(batch=6, p_plain=0.0)  # every step grounded: boxes and phrases built
    inline = [make_batch(scenes, tok, tc, s) for s in range(5, 11)]
    loader = torch.utils.data.DataLoader(
        _Batches(scenes, tok, tc, start=5), batch_size=None, num_workers=2
    )
    for want, got in zip(inline, loader, strict=False):
        assert want.keys() == got.keys()
        for k, v in want.items():
            assert torch.equal(v, got[k]) if isinstance(v, torch.Tensor) else v == got[k], k
    b = inline[0]
    assert b["ids"].shape == (6, 32) and b["boxes"].shape == (6, tc.max_objs, 4)
    # every placed box has a phrase whose tokens decode to that box's object
    assert len(b["box_b"]) == int(b["masks"].sum()) > 0
    assert int(b["box_phrase"].max()) < len(b["phrase_ids"])
    assert not torch.equal(inline[0]["ids"], inline[1]["ids"])


def test_object_weights_see_every_object_and_leave_the_batch_stream_alone():
    from scenecraft.training.world_model import make_batch

    scenes = [training_scene(i) for i in range(50)]
    tok = build_tokenizer(32)
    plain = TrainConfig(batch=6, p_drop_boxes=1.0)  # every box dropped from the conditioning
    weighted = replace(plain, obj_weight=4.0)
    for step in range(4):
        a, b = make_batch(scenes, tok, plain, step), make_batch(scenes, tok, weighted, step)
        assert "obj_boxes" not in a
        for k, v in a.items():  # the same scenes, captions and boxes: no random draw was added
            assert torch.equal(v, b[k]) if isinstance(v, torch.Tensor) else v == b[k], k
        for row, i in enumerate(b["idx"].tolist()):
            objects = scenes[i].objects
            assert int(b["obj_masks"][row].sum()) == len(objects)
            x, y, w, h = objects[0].box
            assert b["obj_boxes"][row, 0].tolist() == pytest.approx([x, y, x + w, y + h])


def test_object_weights_only_where_boxes_are_given():
    from scenecraft.training.world_model import make_batch

    scenes = [training_scene(i) for i in range(50)]
    tok = build_tokenizer(32)
    tc = TrainConfig(batch=8, p_drop_boxes=0.5, p_plain=0.5, obj_weight=2.0, obj_where="given")
    seen = {"plain": 0, "dropped": 0, "given": 0}
    for step in range(12):
        b = make_batch(scenes, tok, tc, step)
        every = make_batch(scenes, tok, replace(tc, obj_where="all"), step)
        assert torch.equal(b["idx"], every["idx"]) and torch.equal(b["ids"], every["ids"])
        for row in range(tc.batch):
            n_obj = int(every["obj_masks"][row].sum())
            assert n_obj == len(scenes[int(b["idx"][row])].objects)
            given = b["grounded"] and bool(b["masks"][row].any())
            kind = "given" if given else ("dropped" if b["grounded"] else "plain")
            seen[kind] += 1
            assert int(b["obj_masks"][row].sum()) == (n_obj if given else 0), (step, row, kind)
    assert min(seen.values()) > 0, seen  # every kind of row was checked
    with pytest.raises(ValueError, match="obj_where"):
        TrainConfig(obj_where="boxes")


def test_the_object_weight_moves_the_loss_to_the_errors_inside_boxes():
    from scenecraft.training.world_model import object_weighted_mse

    target = torch.zeros(2, 3, 4, 4)
    inside, outside = target.clone(), target.clone()
    inside[..., :2, :2] = 1.0  # errs on the 4 cells of the box only
    outside[..., 2:, 2:] = 1.0  # errs on 4 cells outside it
    boxes = (torch.tensor([[[0.0, 0.0, 0.5, 0.5]]] * 2), torch.ones(2, 1))
    plain = object_weighted_mse(inside, target, None, 4.0)
    assert torch.equal(plain, object_weighted_mse(outside, target, None, 4.0))
    assert torch.equal(plain, object_weighted_mse(inside, target, boxes, 0.0))
    # weight 5 on 4 of 16 cells: the mean weight is 2, so an error there counts 5/2 of plain and
    # one elsewhere 1/2; a uniform error costs what it did
    torch.testing.assert_close(object_weighted_mse(inside, target, boxes, 4.0), plain * 2.5)
    torch.testing.assert_close(object_weighted_mse(outside, target, boxes, 4.0), plain * 0.5)
    ones = torch.ones_like(target)
    torch.testing.assert_close(object_weighted_mse(ones, target, boxes, 4.0), torch.ones(2))
