"""Fitting an SVG to an image: it gets closer, prunes what is invisible, reports and cancels."""

import math

import numpy as np
import pytest
import torch

from scenecraft.core.errors import Cancelled, InvalidParams
from scenecraft.vector import Circle, Rect, Scene, ShapeGroup, render
from scenecraft.vector.fit import OpacityModulation, fit
from scenecraft.vector.initialise import from_masks, grid, random_blobs, random_strokes
from scenecraft.vector.svg_write import to_svg

from .scenes import psnr

SIZE = 64


@pytest.fixture(scope="module")
def target_and_masks():
    """Two flat shapes on a vertical gradient, with their instance masks."""
    red, blue = torch.tensor([0.9, 0.1, 0.1, 1.0]), torch.tensor([0.1, 0.2, 0.8, 1.0])
    shapes = [Circle(14.0, [22.0, 24.0]), Rect([34.0, 30.0], [56.0, 54.0])]
    scene = Scene(
        SIZE,
        SIZE,
        shapes,
        [ShapeGroup([0], red), ShapeGroup([1], blue)],
        torch.tensor([0.95, 0.95, 0.9, 1.0]),
    )
    image = render(scene).detach()[..., :3]
    masks = np.zeros((SIZE, SIZE), np.int32)
    for k, group in enumerate(scene.shape_groups, start=1):
        solo = Scene(SIZE, SIZE, shapes, [group])
        masks[render(solo).detach()[..., 3].numpy() >= 0.5] = k
    return image, masks


def test_mask_initialised_fit_gets_close_to_the_target(target_and_masks):
    target, masks = target_and_masks
    init = from_masks(masks, target)
    assert len(init.shape_groups) == 2 and len(init.shapes) == 2  # one path per object
    before = psnr(render(init).detach().numpy()[..., :3], target.numpy())
    result = fit(target, init, iters=60, opacity_modulation=None, lr_points=0.5)
    after = psnr(render(result.scene).detach().numpy()[..., :3], target.numpy())
    assert after > before + 3 and after >= 32
    assert result.losses[-1] < result.losses[0]
    assert '<g id="object-1"' in to_svg(result.scene)


@pytest.mark.parametrize("loss", ["ssim", "l2"])
def test_grid_start_with_opacity_modulation_reduces_the_loss(target_and_masks, loss):
    target, _ = target_and_masks
    init = grid(4, 4, SIZE, SIZE, target=target)
    result = fit(target, init, iters=25, loss=loss)
    assert result.losses[-1] < result.losses[0]


def test_fixed_opacity_cap_keeps_every_primitive_translucent(target_and_masks):
    target, _ = target_and_masks
    result = fit(
        target,
        random_blobs(6, SIZE, SIZE, seed=1, target=target),
        iters=10,
        opacity_modulation=OpacityModulation(start=0.3, ramp=math.inf),
    )
    alphas = [float(g.fill_color[3]) for g in result.scene.shape_groups]
    assert alphas and max(alphas) <= 0.3 + 1e-6


def test_opacity_schedule_ramps_to_one():
    schedule = OpacityModulation(start=0.3, ramp=0.5)
    assert schedule.scale(0, 100) == pytest.approx(0.3)
    assert schedule.scale(25, 100) == pytest.approx(0.65)
    assert schedule.scale(50, 100) == 1.0 and schedule.scale(99, 100) == 1.0


def test_invisible_groups_are_pruned_and_the_input_scene_is_untouched():
    target = torch.ones(SIZE, SIZE, 3)
    shapes = [Rect([0.0, 0.0], [64.0, 64.0]), Circle(5.0, [20.0, 20.0]), Circle(0.1, [5.0, 5.0])]
    groups = [
        ShapeGroup([1], torch.tensor([1.0, 0.0, 0.0, 1.0])),  # hidden under the rect
        ShapeGroup([0], torch.tensor([1.0, 1.0, 1.0, 1.0])),
        ShapeGroup([2], torch.tensor([0.0, 0.0, 0.0, 1.0])),  # far below a pixel
    ]
    scene = Scene(SIZE, SIZE, shapes, groups, torch.ones(4))
    before = scene.shapes[1].center.clone()
    result = fit(target, scene, iters=2, opacity_modulation=None)
    assert result.pruned == 2 and len(result.scene.shape_groups) == 1
    assert result.scene.shape_groups[0].shape_ids == [0]
    assert torch.equal(scene.shapes[1].center, before)


def test_progress_is_reported_every_step_and_cancel_stops_the_fit(target_and_masks):
    target, _ = target_and_masks
    init = random_strokes(4, SIZE, SIZE, seed=0)
    seen = []
    fit(target, init, iters=3, progress=lambda p: seen.append((p.step, p.total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(Cancelled, match="step 2 of 5"):
        fit(
            target,
            init,
            iters=5,
            progress=lambda p: None,
            cancelled=lambda: len(seen) > 4 or seen.append(0),
        )


def test_bad_targets_are_refused_before_any_work():
    init = random_blobs(2, SIZE, SIZE)
    with pytest.raises(InvalidParams, match="target"):
        fit(torch.ones(SIZE, SIZE), init)
    bad = torch.ones(SIZE, SIZE, 3)
    bad[0, 0, 0] = float("nan")
    with pytest.raises(InvalidParams, match="NaN"):
        fit(bad, init)
