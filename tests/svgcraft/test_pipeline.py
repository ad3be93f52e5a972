"""SVGCraft through the registry on tiny random-weight checkpoints (plumbing), its errors, and
the raster -> SVG half on an exact ShapesWorld raster (what the judge reads)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scenecraft.core.errors import Cancelled, InvalidParams
from scenecraft.core.progress import Progress
from scenecraft.core.settings import get_settings
from scenecraft.models.segment import ShapesSegmenter
from scenecraft.pipelines.artifacts import LocalArtifactStore
from scenecraft.pipelines.base import make_context
from scenecraft.pipelines.registry import run_pipeline, validate
from scenecraft.pipelines.svgcraft import vectorise
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.judge import judge
from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
from scenecraft.shapesworld.render import render_scene
from scenecraft.svgcraft.optimise import bounds, make_fit_loss
from scenecraft.vector.render import to_uint8
from scenecraft.vector.sanitize import SVG_NS, sanitize_svg
from scenecraft.vector.svg_read import read_svg

PROMPT = "a red circle to the left of a blue star"
FAST = {"steps": 3, "iters": 8, "seed": 0}


def run(params: dict, tmp_path, **kwargs):
    events: list[Progress] = []
    store = LocalArtifactStore(tmp_path)
    result = run_pipeline(
        "svgcraft",
        params,
        store=store,
        device="cpu",
        progress=events.append,
        models={},
        seed=0,
        **kwargs,
    )
    return result, events


def object_groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("id"): g for g in root.findall(f"{{{SVG_NS}}}g")}


def group_shapes(svg: str, group: ET.Element):
    """The shapes of one top-level <g>, read back by the vector engine's reader."""
    root = ET.fromstring(svg)
    for child in list(root):
        if child.tag == f"{{{SVG_NS}}}g":
            root.remove(child)
    root.append(group)
    return read_svg(ET.tostring(root, encoding="unicode")).shapes


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"paths": 0}, "params.paths"),
        ({"paths": 100_000}, "params.paths"),
        ({"width": 4096}, "params.width"),
        ({"height": 100}, "params.height"),  # not a multiple of the latent factor
        ({"iters": 0}, "params.iters"),
        ({"attempts": 0}, "params.attempts"),
        ({"attempts": 17}, "params.attempts"),
        ({"repair": "glue"}, "params.repair"),
    ],
)
def test_bad_params_are_named(params, field):
    with pytest.raises(InvalidParams) as e:
        validate("svgcraft", {"prompt": PROMPT, **params})
    assert field in [err["field"] for err in e.value.errors], e.value.errors


def test_too_few_paths_for_the_layout_fails_before_the_model_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(tmp_path / "no-model-here"))
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidParams, match="1 paths cannot seed the 3 objects"):
            run({"prompt": "three red circles", "paths": 1, "primitive": "circles"}, tmp_path)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("fixture", ["tiny_sd", "tiny_sd_plain", "tiny_sd_layout"])
def test_runs_on_tiny_checkpoints_with_every_artifact(fixture, request, tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(request.getfixturevalue(fixture)))
    get_settings.cache_clear()
    try:
        result, events = run({"prompt": PROMPT, **FAST}, tmp_path)
    finally:
        get_settings.cache_clear()
    names = set(result.artifacts)
    assert {"layout.json", "layout.png", "box_latents.png", "fused.png"} <= names
    assert {"final.svg", "final.png", "loss.png"} <= names
    strip = np.asarray(Image.open(io.BytesIO(result.read("box_latents.png"))))
    assert strip.shape == (128, 2 * 128, 3)  # one tile per laid-out object
    svg = result.read("final.svg").decode()
    assert sanitize_svg(svg) == svg
    assert set(object_groups(svg)) <= {"background", "red-circle-1", "blue-star-1"}
    stages = [e.stage for e in events]
    for stage in ("layout", "load", "box latents", "fused denoise", "svg optimisation", "write"):
        assert stage in stages
    assert stages.index("layout") < stages.index("load") < stages.index("box latents")
    assert any(e.preview for e in events if e.stage == "svg optimisation")
    assert result.metrics["paths"] >= 1 and result.metrics["svg_bytes"] == len(svg.encode())


def test_runs_with_the_sam_segmenter(world_model, tiny_sam, tmp_path, monkeypatch):
    # plumbing with a random SAM refining each object's mask (the reference's segmenter)
    from scenecraft.models.segment import SamSegmenter

    monkeypatch.setenv("SCENECRAFT_SEGMENTER", "sam")
    monkeypatch.setenv("SCENECRAFT_SEGMENTER_MODEL", tiny_sam)
    get_settings.cache_clear()
    cut = []
    sam_call = SamSegmenter.__call__
    monkeypatch.setattr(
        SamSegmenter,
        "__call__",
        lambda self, image, boxes: cut.append(len(boxes)) or sam_call(self, image, boxes),
    )
    result, _ = run({"prompt": PROMPT, **FAST}, tmp_path)
    assert result.record["segmenter"] == "sam" and sum(cut) >= 2  # a mask per laid-out object
    svg = result.read("final.svg").decode()
    assert sanitize_svg(svg) == svg
    assert set(object_groups(svg)) <= {"background", "red-circle-1", "blue-star-1"}


def test_no_layout_ablation_and_cancel(world_model, tmp_path):
    result, _ = run({"prompt": PROMPT, "layout": False, "paths": 6, **FAST}, tmp_path)
    assert "layout.json" not in result.artifacts and "box_latents.png" not in result.artifacts
    assert set(object_groups(result.read("final.svg").decode())) <= {"background", "scene"}
    with pytest.raises(Cancelled):
        run({"prompt": PROMPT, **FAST}, tmp_path, cancelled=lambda: True)


def test_raster_to_svg_is_read_as_the_prompt_and_layered_by_box(tmp_path):
    """Stages 4-6 on the exact ShapesWorld render of the prompt (the raster a perfect world model
    would give): the SVG's render satisfies the prompt, and each object's <g> stays in its box."""
    spec = parse_prompt(PROMPT)
    scene = scene_from_spec(spec, 7)
    raster = render_scene(scene, 128).image
    layout = scene.layout()
    _, params = validate("svgcraft", {"prompt": PROMPT, "iters": 60, "seed": 7})
    ctx = make_context(LocalArtifactStore(tmp_path), 7, "cpu", models={})
    result = vectorise(raster, layout, params, ctx, ShapesSegmenter(), make_fit_loss("l2"))
    svg = ctx.artifacts.get("final.svg").decode()
    assert sanitize_svg(svg) == svg
    final = np.asarray(Image.open(io.BytesIO(ctx.artifacts.get("final.png"))))
    verdict = judge(detect(final), spec)
    assert verdict.ok, verdict.reasons
    assert result.metrics["psnr"] >= 28
    groups = object_groups(svg)
    for item in layout.items:
        ident = re.sub(r"[^a-z0-9]+", "-", item.label).strip("-")
        g = groups[ident]
        assert g.get("aria-label") == item.label
        x, y, w, h = (v * 128 for v in item.box)
        for shape in group_shapes(svg, g):
            x0, y0, x1, y1 = bounds(shape)
            slack = 0.1 * 128
            assert x0 >= x - slack and y0 >= y - slack, (item.label, bounds(shape))
            assert x1 <= x + w + slack and y1 <= y + h + slack, (item.label, bounds(shape))


def test_one_group_per_object_makes_moving_or_recolouring_an_object_an_edit_of_one_group(
    tmp_path,
):
    """What the layered SVG is for: move one object and recolour another by editing one <g>
    each; the judge reads the edited render as the edited scene, the rest unchanged."""
    from scenecraft.shapesworld.grammar import COLORS
    from scenecraft.svgcraft.optimise import over_white
    from scenecraft.vector import render

    spec = parse_prompt(PROMPT)
    scene = scene_from_spec(spec, 7)
    layout = scene.layout()
    _, params = validate("svgcraft", {"prompt": PROMPT, "iters": 60, "seed": 7})
    ctx = make_context(LocalArtifactStore(tmp_path), 7, "cpu", models={})
    vectorise(
        render_scene(scene, 128).image, layout, params, ctx, ShapesSegmenter(), make_fit_loss("l2")
    )
    root = ET.fromstring(ctx.artifacts.get("final.svg").decode())
    groups = {g.get("aria-label"): g for g in root.findall(f"{{{SVG_NS}}}g")}
    circle, star = groups["red circle #1"], groups["blue star #1"]
    before = {i.label.split(" #")[0]: i.box for i in layout.items}
    dy = 30 if before["red circle"][1] < 0.5 else -30  # toward the middle: it stays in frame
    circle.set("transform", f"translate(0 {dy})")
    green = "#{:02x}{:02x}{:02x}".format(*COLORS["green"])
    for shape in star.iter():
        if shape.get("fill") not in (None, "none"):
            shape.set("fill", green)
    edited = ET.tostring(root, encoding="unicode")
    assert sanitize_svg(edited) == sanitize_svg(sanitize_svg(edited))  # still a clean SVG
    with torch.no_grad():
        img = to_uint8(over_white(render(read_svg(edited))))
    found = {d.label: d.box for d in detect(img)}
    assert set(found) == {"red circle", "green star"}, found
    assert found["red circle"][1] == pytest.approx(before["red circle"][1] + dy / 128, abs=0.05)
    assert found["red circle"][0] == pytest.approx(before["red circle"][0], abs=0.05)
    assert found["green star"][:2] == pytest.approx(before["blue star"][:2], abs=0.05)


def test_shipped_world_model_end_to_end_is_read_as_the_prompt(tmp_path):
    model = get_settings().world_model
    if not (Path(model) / "model_index.json").is_file():
        pytest.skip(f"the trained world model is not at {model} yet (scenecraft train world-model)")
    # The shipped model does not yet draw every prompt right (README: its single-object and
    # grounded figures), so this checks what SVGCraft itself owes on the model's real output:
    # an SVG that is safe, faithful to the fused raster, and read by the judge as that raster is.
    result, _ = run({"prompt": PROMPT, "seed": 0}, tmp_path)
    svg = result.read("final.svg").decode()
    assert sanitize_svg(svg) == svg
    final, fused = (
        np.asarray(Image.open(io.BytesIO(result.read(name))).convert("RGB"))
        for name in ("final.png", "fused.png")
    )
    # same objects by colour (a shape the model drew ambiguously may read either way)
    colours = [sorted(d.label.split()[0] for d in detect(img)) for img in (final, fused)]
    assert colours[0] == colours[1]
    assert detect(fused), "the model drew nothing"
    # an object given back its named shape (keep_shapes) follows the shape, not the lumpy
    # raster; the refit after it meets the raster again (row 7, this prompt: the star restored,
    # 26.4 dB before the refit, 31.5 after)
    assert result.metrics["psnr"] >= 28


def test_missing_lpips_weights_fail_before_the_model_loads(tmp_path, monkeypatch):
    from scenecraft.core.errors import ModelNotFound
    from scenecraft.vector.losses import backbone_weights_file

    if backbone_weights_file("vgg").exists():
        pytest.skip("LPIPS backbone weights are installed here")
    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(tmp_path / "no-model-here"))
    get_settings.cache_clear()
    try:
        with pytest.raises(ModelNotFound, match="vgg16"):
            run({"prompt": PROMPT, "loss": "lpips"}, tmp_path)
    finally:
        get_settings.cache_clear()


def test_attempts_and_guidance_reach_the_pipeline_config():
    from scenecraft.pipelines.svgcraft import config
    from scenecraft.svgcraft.pipeline import SVGCraftConfig

    _, p = validate("svgcraft", {"prompt": PROMPT, "attempts": 7, "guidance": 4.0})
    c = config(p)
    assert (c.attempts, c.guidance) == (7, 4.0)
    _, p = validate("svgcraft", {"prompt": PROMPT})
    assert config(p) == SVGCraftConfig()  # a job's defaults are the pipeline's
    assert (config(p).attempts, config(p).guidance, config(p).repair) == (8, 5.0, "paste")
    _, p = validate("svgcraft", {"prompt": PROMPT, "repair": "redo"})
    assert config(p).repair == "redo"
