"""A start read from the image itself (issue 23): colour regions become few, curved, opaque
paths, and a picture that is not a ShapesWorld scene vectorizes cleanly in few steps."""

import base64
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import run_pipeline
from scenecraft.vector import render
from scenecraft.vector.fit import Plateau, fit
from scenecraft.vector.regions import add_residual_paths, from_regions, outline
from scenecraft.vector.sanitize import sanitize_svg
from scenecraft.vector.svg_read import read_svg

from .scenes import psnr

PICTURE = Path(__file__).parent / "data" / "three_shapes.png"  # circle, square, star; 128 px


@pytest.fixture(scope="module")
def picture() -> torch.Tensor:
    pixels = np.asarray(Image.open(PICTURE).convert("RGB"))
    return torch.from_numpy(pixels.copy()).float() / 255  # [128, 128, 3]


@pytest.mark.parametrize("seed", [0, 1, 2])  # bench/vectorize.py measures seeds 0-9
def test_three_shapes_become_three_clean_paths_at_eight(tmp_path, seed):
    image = {"png_base64": base64.b64encode(PICTURE.read_bytes()).decode()}
    params = {"image": image, "paths": 8, "iters": 200, "size": 128, "seed": seed}
    result = run_pipeline("vectorize", params, store=open_store(str(tmp_path)), device="cpu")
    svg = result.read("final.svg").decode()
    assert result.record["init"] == "regions"
    assert result.metrics["psnr"] >= 35
    assert result.metrics["paths"] == 3  # one per object; the background is the canvas
    assert result.metrics["svg_bytes"] == len(svg.encode()) < 2048
    assert result.metrics["iterations"] < 200  # stopped when the loss stopped improving
    assert sanitize_svg(svg) == svg
    assert len(read_svg(svg).shape_groups) == 3


RED, BLUE, YELLOW = (torch.tensor(c) / 255 for c in ([220, 40, 40], [40, 80, 200], [245, 200, 30]))


def _has(colours: torch.Tensor, want: torch.Tensor) -> bool:
    """Some colour is ``want``, within anti-aliasing's pull on a region's mean."""
    return bool((colours[:, :3] - want).abs().max(1).values.min() < 0.06)


def test_start_is_one_opaque_mean_coloured_path_per_region(picture):
    scene = from_regions(picture, 8)
    assert len(scene.shapes) == len(scene.shape_groups) == 3
    colours = torch.stack([g.fill_color for g in scene.shape_groups])
    assert torch.all(colours[:, 3] == 1)
    assert _has(colours, RED) and _has(colours, BLUE) and _has(colours, YELLOW)
    assert psnr(render(scene).detach().numpy()[..., :3], picture.numpy()) > 25


def test_a_smaller_budget_merges_the_least_important_region(picture):
    colours = torch.stack([g.fill_color for g in from_regions(picture, 2).shape_groups])
    # the star is the smallest object and the closest in colour to the background
    assert len(colours) == 2 and _has(colours, RED) and _has(colours, BLUE)


def test_outline_of_a_disc_is_a_few_curves_on_its_edge():
    yy, xx = np.mgrid[:64, :64] + 0.5
    disc = (xx - 32) ** 2 + (yy - 30) ** 2 <= 20**2
    path = outline(disc)
    assert len(path.num_control_points) <= 8 and bool((path.num_control_points == 2).all())
    radii = (path.points[::3] - torch.tensor([32.0, 30.0])).norm(dim=1)  # on-curve points
    assert (radii - 20).abs().max() < 1.0


def test_residual_paths_go_where_an_object_is_missing(picture):
    start = from_regions(picture, 2)  # one object merged away
    grown = add_residual_paths(start, picture, 5)
    assert len(grown.shapes) == 3  # the missing object, and no path for anti-aliased edges
    target = picture.numpy()
    before = psnr(render(start).detach().numpy()[..., :3], target)
    assert psnr(render(grown).detach().numpy()[..., :3], target) > before + 5


def test_early_stop_ends_an_easy_fit_well_before_its_budget(picture):
    result = fit(picture, from_regions(picture, 8), 400, opacity_modulation=None, plateau=Plateau())
    assert result.iterations == len(result.losses) < 200
    assert psnr(render(result.scene).detach().numpy()[..., :3], picture.numpy()) >= 40
