"""The ``vectorize`` pipeline and CLI command: an image in, a clean layered SVG out."""

import base64
import io

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from scenecraft.cli import app
from scenecraft.core.errors import Cancelled, InvalidParams
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import pipelines, run_pipeline
from scenecraft.vector.sanitize import sanitize_svg
from scenecraft.vector.svg_read import read_svg


def _png() -> bytes:
    image = Image.new("RGB", (40, 30), "white")
    ImageDraw.Draw(image).ellipse([5, 5, 25, 25], fill="red")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _run(params: dict, tmp_path, **kwargs):
    store = open_store(str(tmp_path / "store"))
    return run_pipeline("vectorize", params, store=store, device="cpu", **kwargs)


def test_vectorize_is_registered():
    assert "vectorize" in pipelines()


def test_shapesworld_scene_becomes_one_labelled_path_per_object(tmp_path):
    events = []
    result = _run({"size": 64, "iters": 15, "seed": 5}, tmp_path, progress=events.append)
    svg = result.read("final.svg").decode()
    assert sanitize_svg(svg) == svg
    scene = read_svg(svg)
    assert len(scene.shape_groups) == result.metrics["paths"] >= 1
    assert result.metrics["psnr"] >= 30
    assert result.record["init"] == "masks"
    assert [e.step for e in events if e.stage == "fit"][-1] == 15


def test_uploaded_image_with_grid_start(tmp_path):
    params = {
        "image": {"png_base64": base64.b64encode(_png()).decode()},
        "size": 40,
        "iters": 3,
        "paths": 12,
        "init": "grid",
        "seed": 0,
    }
    result = _run(params, tmp_path)
    scene = read_svg(result.read("final.svg"))
    assert (scene.canvas_width, scene.canvas_height) == (40, 30)  # aspect ratio kept
    assert result.metrics["paths"] <= 12


@pytest.mark.parametrize(
    "params, field",
    [
        ({"paths": 100_000}, "params.paths"),
        ({"iters": 10**7}, "params.iters"),
        ({"size": 100_000}, "params.size"),
        ({"loss": "l1"}, "params.loss"),
        ({"image": {"png_base64": base64.b64encode(b"not a png").decode()}}, "png_base64"),
        (
            {"image": {"png_base64": base64.b64encode(_png()).decode()}, "init": "masks"},
            "params.init",
        ),
    ],
)
def test_bad_params_are_refused_naming_the_field(params, field, tmp_path):
    with pytest.raises(InvalidParams, match=field):
        _run({"iters": 2, **params}, tmp_path)


def test_cancel_stops_the_fit(tmp_path):
    with pytest.raises(Cancelled):
        _run({"size": 32, "iters": 50}, tmp_path, cancelled=lambda: True)


def test_cli_writes_svg_and_leaves_nothing_on_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENECRAFT_ARTIFACTS", str(tmp_path / "store"))
    from scenecraft.core.settings import get_settings

    get_settings.cache_clear()
    try:
        image = tmp_path / "in.png"
        image.write_bytes(_png())
        out = tmp_path / "out.svg"
        args = [
            "vectorize",
            str(image),
            "-o",
            str(out),
            "--paths",
            "8",
            "--iters",
            "3",
            "--size",
            "40",
        ]
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
        assert read_svg(out.read_text()).canvas_width == 40
        bad = tmp_path / "bad.png"
        bad.write_text("hello")
        failed = CliRunner().invoke(app, ["vectorize", str(bad), "-o", str(tmp_path / "b.svg")])
        assert failed.exit_code == 2 and "not an image" in failed.output
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "bad.png",
            "in.png",
            "out.svg",
            "store",
        ]
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(("corner", "decimals"), [(10.5, 1), (10.25, 2), (10.52, 2)])
def test_svg_is_written_with_the_fewest_decimals_that_keep_the_fit(corner, decimals):
    import torch

    from scenecraft.pipelines.vectorize import write
    from scenecraft.vector import Rect, Scene, ShapeGroup, render

    box = Rect([corner, corner], [corner + 20, corner + 20])
    blue = torch.tensor([0.2, 0.3, 0.8, 1.0])
    scene = Scene(40, 40, [box], [ShapeGroup([0], blue)], torch.ones(4))
    target = render(scene)[..., :3]
    svg, written, used = write(scene, target)
    assert used == decimals
    assert written >= 60  # what was written draws the fit (the colour rounded to 8 bits)
    assert read_svg(svg).shapes[0].points[0].tolist() == pytest.approx(
        [round(corner, decimals)] * 2
    )
