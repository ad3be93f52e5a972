"""SLD end to end on tiny random-weight models (plumbing), its latent ops, and its errors."""

import base64
import json

import numpy as np
import pytest
import torch

from scenecraft.core.contracts import Layout
from scenecraft.core.errors import InvalidParams
from scenecraft.pipelines.artifacts import LocalArtifactStore
from scenecraft.pipelines.inputs import encode_png
from scenecraft.pipelines.registry import run_pipeline, validate
from scenecraft.planner.geometry import layout_problems
from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
from scenecraft.shapesworld.render import render_scene
from scenecraft.sld.latent_ops import LatentCanvas, delete, latent_mask, move


def run(name, params, tmp_path):
    events = []
    result = run_pipeline(
        name,
        params,
        store=LocalArtifactStore(tmp_path),
        device="cpu",
        progress=events.append,
        models={},
        seed=0,
    )
    return result, events


def rendered(prompt: str, seed: int = 1) -> str:
    return encode_png(render_scene(scene_from_spec(parse_prompt(prompt), seed), 64).image)


def test_generate_then_correct_runs_every_stage(world_model, tmp_path):
    result, events = run(
        "sld", {"prompt": "a red circle left of a blue star", "steps": 3, "rounds": 1}, tmp_path
    )
    stages = {e.stage for e in events}
    assert "generate" in stages and "round 1: detect" in stages
    names = set(result.artifacts)
    assert {"initial.png", "final.png", "round1.json", "round1_boxes.png"} <= names
    round1 = json.loads(result.read("round1.json"))
    # a random model cannot draw the prompt: round 1 finds problems and proposes a layout that
    # satisfies the prompt, reached through typed ops
    spec = parse_prompt("a red circle left of a blue star")
    assert round1["problems"] and round1["ops"]
    assert layout_problems(Layout(items=round1["proposed"]), spec) == []
    assert result.metrics["rounds"] >= 1


def test_the_loop_runs_on_tiny_sd_owlv2_and_sam(
    world_model, tiny_owl, tiny_sam, monkeypatch, tmp_path
):
    # plumbing with the real-checkpoint backends: a random OWLv2 (thresholds at 0, so it finds
    # things) and a random SAM that must cut the masks the latent operations work on
    from scenecraft.core.settings import get_settings
    from scenecraft.models.detect import OwlV2Detector, load_detector
    from scenecraft.models.segment import SamSegmenter

    monkeypatch.setenv("SCENECRAFT_DETECTOR_MODEL", tiny_owl)
    monkeypatch.setenv("SCENECRAFT_SEGMENTER_MODEL", tiny_sam)
    get_settings.cache_clear()
    models: dict = {}
    owl = load_detector("owlv2", tiny_owl, "cpu", models)  # the instance the job will reuse
    owl.attr_threshold = owl.noun_threshold = 0.0
    cut = []
    sam_call = SamSegmenter.__call__
    monkeypatch.setattr(
        SamSegmenter,
        "__call__",
        lambda self, image, boxes: cut.append(len(boxes)) or sam_call(self, image, boxes),
    )
    params = {
        "prompt": "a red circle",
        "steps": 3,
        "rounds": 1,
        "detector": "owlv2",
        "segmenter": "sam",
    }
    result = run_pipeline(
        "sld", params, store=LocalArtifactStore(tmp_path), device="cpu", models=models, seed=0
    )
    assert {"initial.png", "final.png", "round1.json", "round1_boxes.png"} <= set(result.artifacts)
    assert isinstance(models[("detector", "owlv2", tiny_owl, "cpu")], OwlV2Detector)
    assert isinstance(models[("segmenter", "sam", tiny_sam, "cpu")], SamSegmenter)
    round1 = json.loads(result.read("round1.json"))
    assert round1["detections"] and cut and sum(cut) > 0  # OWLv2 found boxes, SAM cut them


def test_rounds_start_from_trajectories_and_invert_only_a_given_image(
    world_model, tmp_path, monkeypatch
):
    import scenecraft.sld.pipeline as sld

    inverted: list[int] = []
    real_invert = sld.invert

    def counting(*args, **kwargs):
        inverted.append(1)
        return real_invert(*args, **kwargs)

    monkeypatch.setattr(sld, "invert", counting)
    prompt = "a red circle left of a blue star"
    result, events = run("sld", {"prompt": prompt, "steps": 3, "rounds": 2}, tmp_path / "a")
    # the base image's and each denoise's own trajectories: no round inverted anything
    assert result.metrics["rounds"] >= 1 and inverted == []
    assert not any(e.stage.endswith(": invert") for e in events)
    given = {"png_base64": rendered("a red circle")}
    run("sld", {"prompt": prompt, "steps": 3, "rounds": 1, "image": given}, tmp_path / "b")
    assert inverted == [1]  # an image from elsewhere has no trajectory: inverted once


def test_an_image_that_already_satisfies_the_prompt_is_returned_unchanged(world_model, tmp_path):
    prompt = "two green hearts above a purple square"
    result, _ = run("sld", {"prompt": prompt, "image": {"png_base64": rendered(prompt)}}, tmp_path)
    assert result.metrics["rounds"] == 1 and result.metrics["ops"] == 0
    assert result.metrics["initial_ok"] and result.metrics["final_ok"]
    assert result.read("final.png") == result.read("initial.png")


def test_edit_plans_once_and_reports_its_ops(world_model, tmp_path):
    image = {"png_base64": rendered("a red circle and a blue star", 3)}
    result, _ = run(
        "sld.edit", {"instruction": "remove the blue star", "image": image, "steps": 4}, tmp_path
    )
    round1 = json.loads(result.read("round1.json"))
    assert [(o["op"], o["label"]) for o in round1["ops"]] == [("delete", "blue star")]
    assert "final.png" in result.artifacts


def test_bad_backends_and_images_are_named(world_model, tmp_path):
    with pytest.raises(InvalidParams) as e:
        validate("sld", {"prompt": "a star", "detector": "yolo", "segmenter": "nope"})
    assert {x["field"] for x in e.value.errors} == {"params.detector", "params.segmenter"}
    odd = render_scene(scene_from_spec(parse_prompt("a star"), 0), (60, 64)).image
    with pytest.raises(InvalidParams, match="not a multiple of 8") as e:
        run("sld", {"prompt": "a star", "image": {"png_base64": encode_png(odd)}}, tmp_path)
    assert e.value.errors[0]["field"] == "params.image"
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("CMYK", (64, 64)).save(buf, format="JPEG")
    cmyk = base64.b64encode(buf.getvalue()).decode()
    with pytest.raises(InvalidParams, match="mode CMYK"):
        run("sld", {"prompt": "a star", "image": {"png_base64": cmyk}}, tmp_path)


def test_move_carries_latents_to_the_new_box_and_frees_the_old_place():
    g = torch.Generator().manual_seed(0)
    traj = [torch.randn(1, 4, 16, 16, generator=g) for _ in range(3)]
    canvas = LatentCanvas.from_trajectory(traj)
    pixel = np.zeros((128, 128), bool)
    pixel[16:40, 16:40] = True  # latent cells 2..4
    m = latent_mask(pixel, (16, 16), dilate=0)
    move(canvas, m, [0.125, 0.125, 0.1875, 0.1875], [0.5, 0.5, 0.1875, 0.1875])
    for before, after in zip(traj, canvas.trajectory, strict=True):
        assert torch.equal(after[..., 8:11, 8:11], before[..., 2:5, 2:5])
    assert canvas.free[0, 0, 2:5, 2:5].eq(1).all() and canvas.free[0, 0, 8:11, 8:11].eq(0).all()
    delete(canvas, latent_mask(np.ones((128, 128), bool), (16, 16)))
    assert canvas.free.eq(1).all() and canvas.edited.eq(1).all()


def _blind_pipeline(tiny_sd, **config):
    """SLD on the tiny model with a detector that never finds anything: every add fails."""
    from scenecraft.models.diffusion import load
    from scenecraft.models.segment import ShapesSegmenter
    from scenecraft.planner.offline import OfflinePlanner
    from scenecraft.sld.pipeline import SLDConfig, SLDPipeline

    return SLDPipeline(
        diffusion=load(tiny_sd, cache={}),
        detector=lambda image, phrases: [],
        segmenter=ShapesSegmenter(),
        planner=OfflinePlanner(),
        config=SLDConfig(steps=5, **config),
    )


def _count_samples(monkeypatch) -> list[int]:
    import scenecraft.sld.pipeline as sld

    steps_run: list[int] = []
    real = sld.sample

    def counting(*args, **kwargs):
        peek = kwargs.get("peek")

        def counted(step, x0):
            steps_run[-1] = step
            if peek is not None:
                peek(step, x0)

        steps_run.append(0)
        return real(*args, **{**kwargs, "peek": counted})

    monkeypatch.setattr(sld, "sample", counting)
    return steps_run


def test_a_round_whose_every_op_failed_costs_no_denoise(tiny_sd, monkeypatch):
    pipe = _blind_pipeline(tiny_sd, rounds=2, add_attempts=2)
    spec = parse_prompt("a red circle")
    image = render_scene(scene_from_spec(parse_prompt("a blue star"), 1), 64).image
    steps_run = _count_samples(monkeypatch)
    rounds = pipe.correct("a red circle", spec, image, torch.Generator().manual_seed(0))
    assert len(rounds) == 2 and all(r.ops and r.skipped for r in rounds)
    assert all(r.image is None for r in rounds)  # nothing was drawn: the image stays as given
    assert steps_run == [5] * 4  # two attempts a round at the add, no denoise after them


def test_an_add_attempt_not_forming_is_dropped_at_the_check(tiny_sd, monkeypatch):
    pipe = _blind_pipeline(tiny_sd, add_attempts=3, add_check_fraction=0.4)
    steps_run = _count_samples(monkeypatch)
    made = pipe.generate_object("red circle", [0.1, 0.1, 0.4, 0.4], (64, 64), torch.Generator())
    assert made is None and steps_run == [2, 2, 2]  # each stopped after 2 of its 5 steps


def test_an_added_object_is_the_clearest_of_the_attempts(tiny_sd, monkeypatch):
    """No attempt is scored ``add_clear``: all three run and the best-scored one is taken."""
    import scenecraft.sld.pipeline as sld
    from scenecraft.core.contracts import Detection

    scores = iter([0.6, 0.7, 0.65])
    pipe = _blind_pipeline(tiny_sd, add_attempts=3)
    pipe.detector = lambda image, phrases: [
        Detection("red circle", [0.2, 0.2, 0.4, 0.4], next(scores))
    ]
    made: list[np.ndarray] = []
    real = sld.sample

    def recording(*args, **kwargs):
        out = real(*args, **kwargs)
        made.append(out.images[0])
        return out

    monkeypatch.setattr(sld, "sample", recording)
    out = pipe.generate_object("red circle", [0.1, 0.1, 0.4, 0.4], (64, 64), torch.Generator())
    assert out is not None and len(made) == 3
    assert np.array_equal(out[3], made[1]) and not np.array_equal(made[0], made[1])


def test_an_attempt_scored_clear_ends_the_attempts(tiny_sd, monkeypatch):
    from scenecraft.core.contracts import Detection

    pipe = _blind_pipeline(tiny_sd, add_attempts=3, add_clear=0.85)
    pipe.detector = lambda image, phrases: [Detection("red circle", [0.2, 0.2, 0.4, 0.4], 0.9)]
    steps_run = _count_samples(monkeypatch)
    assert pipe.generate_object("red circle", [0.1, 0.1, 0.4, 0.4], (64, 64), torch.Generator())
    assert steps_run == [5]


def test_objects_no_op_names_keep_their_pixels(tiny_sd):
    from scenecraft.core.contracts import Detection, EditOp, Layout, LayoutItem
    from scenecraft.sld.latent_ops import LatentCanvas
    from scenecraft.sld.pipeline import SLDConfig, kept_mask

    pipe = _blind_pipeline(tiny_sd, paste_objects=False)  # the paper's blend, plus the keep
    scene = scene_from_spec(parse_prompt("a red circle and a blue star"), 1)
    image = render_scene(scene, 64).image
    spec_dets = [Detection(o.label, o.box, 1.0) for o in scene.objects]
    masks = pipe.object_masks(image, spec_dets)
    circle = next(d for d in spec_dets if d.label == "red circle")
    star = next(d for d in spec_dets if d.label == "blue star")
    ops = [EditOp(op="delete", label="blue star", old_box=star.box)]
    keep = kept_mask(spec_dets, ops, masks)
    assert keep is not None and keep.any()
    x, y, w, h = (np.array(circle.box) * 64).round().astype(int)
    assert keep[y : y + h, x : x + w].mean() > 0.5  # the circle, not the star
    assert (
        kept_mask(
            spec_dets,
            [
                *ops,
                EditOp(
                    op="move", label="red circle", old_box=circle.box, new_box=[0.5, 0.5, 0.2, 0.2]
                ),
            ],
            masks,
        )
        is None
    )
    # a canvas regenerated everywhere: only the kept pixels come back from the input
    traj = [torch.zeros(1, 4, 8, 8) for _ in range(5)]
    canvas = LatentCanvas.from_trajectory(traj)
    canvas.free = torch.ones_like(canvas.free)
    target = Layout(items=[LayoutItem(label="red circle", box=circle.box)])
    g = torch.Generator().manual_seed(0)
    out, _ = pipe.denoise("a red circle", canvas, target, image, g, keep=keep)
    np.testing.assert_array_equal(out[keep], image[keep])
    assert not np.array_equal(out[~keep], image[~keep])
    assert SLDConfig().protect_kept


def test_kept_objects_keep_their_box_surroundings_but_not_a_named_objects_pixels():
    from scenecraft.core.contracts import Detection, EditOp
    from scenecraft.sld.pipeline import kept_mask

    a = np.zeros((64, 64), bool)
    a[10:20, 10:20] = True  # a kept object, its box [8, 8, 16, 16] px has a ring around it
    b = np.zeros((64, 64), bool)
    b[22:30, 14:22] = True  # a deleted one, reaching into the kept box
    dets = [
        Detection("a", [8 / 64, 8 / 64, 16 / 64, 16 / 64], 1.0),
        Detection("b", [14 / 64, 22 / 64, 8 / 64, 8 / 64], 1.0),
    ]
    keep = kept_mask(
        dets,
        [EditOp(op="delete", label="b", old_box=dets[1].box)],
        {tuple(dets[0].box): a, tuple(dets[1].box): b},
    )
    assert keep[a].all() and keep[8, 8] and keep[23, 8]  # the object, its box, the margin
    assert not keep[b].any() and not keep[40, 40]


def test_place_pixels_carries_an_object_into_its_new_box():
    from scenecraft.sld.latent_ops import place_pixels

    image = np.full((64, 64, 3), 200, np.uint8)
    image[8:24, 8:24] = (255, 0, 0)
    mask = np.zeros((64, 64), bool)
    mask[8:24, 8:24] = True
    patch = place_pixels(image, mask, [0.125, 0.125, 0.25, 0.25], [0.5, 0.5, 0.25, 0.25], (64, 64))
    assert patch.box == [0.5, 0.5, 0.25, 0.25]
    np.testing.assert_array_equal(patch.alpha[32:48, 32:48], 1)
    np.testing.assert_array_equal(
        patch.pixels[32:48, 32:48], np.array([255, 0, 0], np.float32) + np.zeros((16, 16, 3))
    )
    assert patch.alpha.sum() == 16 * 16  # nothing outside the new box
    bigger = place_pixels(image, mask, [0.125, 0.125, 0.25, 0.25], [0.25, 0.25, 0.5, 0.5], (64, 64))
    assert bigger.alpha[16:48, 16:48].mean() == 1  # resized with the box


def test_frozen_latents_hold_a_second_mask_to_the_end():
    from scenecraft.models.diffusion import FrozenLatents

    values = [torch.full((1, 1, 2, 2), float(i)) for i in range(4)]
    hold = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    f = FrozenLatents(torch.ones(1, 1, 2, 2), values, 2, hold=hold)
    x = torch.full((1, 1, 2, 2), -1.0)
    assert f.apply(x, 1).eq(1).all()  # everything held in the first steps
    late = f.apply(x, 3)
    assert late[0, 0, 0, 0] == 3 and late[0, 0, 1, 1] == -1  # only the hold mask afterwards
    assert FrozenLatents(torch.ones(1, 1, 2, 2), values, 2).apply(x, 3).eq(-1).all()


def test_noised_latents_follow_the_schedule(tiny_sd):
    from scenecraft.models.diffusion import load, noised

    model = load(tiny_sd, cache={})
    clean = torch.ones(1, model.latent_channels, 8, 8)
    levels = noised(model, clean, 5, torch.Generator().manual_seed(0))
    assert len(levels) == 5
    # noisiest first: the clean signal's share grows step by step
    gaps = [float((z - clean).abs().mean()) for z in levels]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < gaps[0]
    again = noised(model, clean, 5, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(levels, again, strict=True))


def test_with_pasted_objects_only_vacated_places_and_patches_change(tiny_sd):
    from scenecraft.core.contracts import LayoutItem
    from scenecraft.sld.latent_ops import place_pixels

    pipe = _blind_pipeline(tiny_sd)
    scene = scene_from_spec(parse_prompt("a red circle and a blue star"), 1)
    image = render_scene(scene, 64).image
    masks = pipe.object_masks(image, [])
    circle = next(o for o in scene.objects if o.label == "red circle")
    circle_mask = pipe._masks(image, [], [circle.box])[0]
    assert not masks and circle_mask.any()
    canvas = LatentCanvas.from_trajectory([torch.zeros(1, 4, 8, 8) for _ in range(5)])
    new_box = [0.05, 0.7, circle.box[2], circle.box[3]]
    canvas.vacate(circle_mask)
    delete(canvas, latent_mask(circle_mask, (8, 8)))
    canvas.patches.append(place_pixels(image, circle_mask, circle.box, new_box, (64, 64)))
    target = Layout(items=[LayoutItem(label="red circle", box=new_box)])
    g = torch.Generator().manual_seed(0)
    out, trajectory = pipe.denoise("a red circle", canvas, target, image, g)
    assert len(trajectory) == 5
    patch = canvas.patches[0]
    solid = patch.alpha >= 1
    np.testing.assert_allclose(out[solid], patch.pixels[solid], atol=0.5)
    from scipy.ndimage import binary_dilation

    near = binary_dilation(circle_mask, np.ones((7, 7), bool)) | (patch.alpha > 0)  # the rim
    np.testing.assert_array_equal(out[~near], image[~near])  # the rest is the input's
    assert not np.array_equal(out[circle_mask], image[circle_mask])  # the old place redrawn


def test_a_swap_reads_both_objects_from_before_either_moved():
    g = torch.Generator().manual_seed(1)
    traj = [torch.randn(1, 4, 16, 16, generator=g) for _ in range(3)]
    canvas = LatentCanvas.from_trajectory(traj)
    before = [z.clone() for z in canvas.trajectory]
    a, b = np.zeros((128, 128), bool), np.zeros((128, 128), bool)
    a[16:40, 16:40] = True  # cells 2..4
    b[64:88, 64:88] = True  # cells 8..10
    box_a, box_b = [0.125, 0.125, 0.1875, 0.1875], [0.5, 0.5, 0.1875, 0.1875]
    move(canvas, latent_mask(a, (16, 16), dilate=0), box_a, box_b, source=before)
    move(canvas, latent_mask(b, (16, 16), dilate=0), box_b, box_a, source=before)
    for z, old in zip(canvas.trajectory, traj, strict=True):
        assert torch.equal(z[..., 8:11, 8:11], old[..., 2:5, 2:5])
        assert torch.equal(z[..., 2:5, 2:5], old[..., 8:11, 8:11])  # b itself, not a again
