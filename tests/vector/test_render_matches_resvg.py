"""The rasteriser draws what an independent SVG renderer (resvg) draws, scene by scene."""

import pytest

from scenecraft.vector import render

from .scenes import psnr, random_scene, resvg_render, to_svg


@pytest.mark.parametrize("seed", range(32))
def test_random_scene_matches_resvg_at_256(seed):
    # rects, circles, ellipses, stars, cubic/quadratic/open paths, even-odd holes, strokes,
    # opacity and overlaps; resvg sees the same scene through our SVG writer
    scene = random_scene(seed, size=256)
    ours = render(scene, backend="torch").detach().numpy()
    theirs = resvg_render(to_svg(scene, precision=3))
    assert psnr(ours[..., :3], theirs[..., :3]) >= 35.0
