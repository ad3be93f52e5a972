"""Line art as strokes (issue 23, item 3): skeletons traced into lines of one width each,
and a picture drawn with lines written as stroked paths where that is smaller and as good."""

import base64

import numpy as np
import torch

from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import run_pipeline
from scenecraft.shapesworld.render import to_png
from scenecraft.vector import Path, Scene, ShapeGroup, render
from scenecraft.vector.fit import fit
from scenecraft.vector.strokes import line_art, trace
from scenecraft.vector.svg_write import to_svg

from .drawings import raster

BLACK = torch.tensor([0.0, 0.0, 0.0, 1.0])


def test_skeleton_is_traced_into_lines_loops_and_dots():
    skeleton = np.zeros((40, 40), dtype=bool)
    skeleton[5, 5:30] = True  # a line
    skeleton[5:20, 17] = True  # a branch off it: a junction splits the line in three
    yy, xx = np.mgrid[:40, :40]
    skeleton |= np.abs(np.hypot(xx - 28, yy - 29) - 7) < 0.5  # a loop (8-connected)
    skeleton[35, 3] = True  # a dot
    lines = trace(skeleton)
    open_lines = sorted(len(p) for p, closed in lines if not closed and len(p) > 1)
    assert open_lines == [13, 13, 15]  # the junction pixel ends all three
    assert sum(closed for _, closed in lines) == 1
    assert ([(35, 3)], False) in lines


def test_a_ring_is_one_closed_line_of_its_width_and_a_disc_is_no_line():
    yy, xx = np.mgrid[:96, :96] + 0.5
    radius = np.hypot(xx - 48, yy - 48)
    target = np.ones((96, 96, 3), dtype=np.float32)
    ring = np.abs(radius - 30) <= 2.5  # 5 px wide
    (lines,) = line_art(ring, target * (~ring[..., None]))
    (path,) = lines.paths
    assert path.is_closed and abs(lines.width - 5) < 1
    assert np.abs(np.hypot(*(path.points.numpy() - 48).T) - 30).max() < 1.5
    assert float(lines.color[:3].max()) < 0.05  # the black on the skeleton
    assert line_art(radius <= 20, target) is None


def test_one_width_per_group_is_fitted_as_one_and_written_once():
    def cross(width: torch.Tensor) -> Scene:
        lines = [[[10.0, 32.0], [54.0, 32.0]], [[32.0, 10.0], [32.0, 54.0]]]
        shapes = [Path([0], torch.tensor(p), False, width) for p in lines]
        return Scene(64, 64, shapes, [ShapeGroup([0, 1], None, stroke_color=BLACK)], torch.ones(4))

    target = render(cross(torch.tensor(5.0)))[..., :3].detach()
    result = fit(target, cross(torch.tensor(3.0)), 100, opacity_modulation=None)
    a, b = result.scene.shapes
    assert a.stroke_width is b.stroke_width  # one tensor, fitted once for both lines
    assert abs(float(a.stroke_width) - 5.0) < 0.25
    assert to_svg(result.scene).count("stroke-width") == 1


def _vectorize(image: np.ndarray, tmp_path, **params):
    png = {"png_base64": base64.b64encode(to_png(image)).decode()}
    args = {"image": png, "paths": 64, "iters": 200, "size": image.shape[0], "seed": 0}
    store = open_store(str(tmp_path))
    result = run_pipeline("vectorize", {**args, **params}, store=store, device="cpu")
    return result, result.read("final.svg").decode()


def test_an_outline_icon_is_written_with_strokes_in_fewer_bytes_at_the_same_psnr(tmp_path):
    image = raster("ring-tick", 128, exact=True)
    filled, filled_svg = _vectorize(image, tmp_path / "a", strokes=False)
    lined, lined_svg = _vectorize(image, tmp_path / "b")
    lines = lined.record["lines"]
    assert "stroke-width" not in filled_svg
    # the strokes write ~10 % less (1,162-1,239 bytes over runs and machines, vs ~1,308) and
    # draw the icon; 0.95x still needs a real saving
    assert lines["svg_bytes"] < 0.95 * filled.metrics["svg_bytes"]
    assert lines["psnr_svg"] > 40
    # how well they draw it varies with the machine (46.1 dB on one, 44.2-44.3 on another with
    # 1 or 2 threads, against the fill's 46.9): kept exactly when within 0.1 dB of the fill
    if lines["kept"]:
        assert "stroke-width" in lined_svg
        assert lined.metrics["svg_bytes"] == lines["svg_bytes"]
        assert lined.metrics["psnr_svg"] >= filled.metrics["psnr_svg"] - 0.2
    else:
        assert "stroke-width" not in lined_svg
        assert lines["psnr_svg"] < lined.metrics["psnr_svg"] - 0.1


def test_strokes_are_not_kept_where_they_draw_worse(tmp_path):
    # resvg strokes curves ~0.15 px off at 1:1, which no exact stroke matches: on its raster of
    # the same icon the strokes draw worse than fills, and the fills are written
    result, svg = _vectorize(raster("ring-tick", 128), tmp_path)
    lines = result.record["lines"]
    assert not lines["kept"] and "stroke-width" not in svg
    worse = lines["psnr_svg"] < result.metrics["psnr_svg"] - 0.1
    assert worse or lines["svg_bytes"] >= result.metrics["svg_bytes"]
