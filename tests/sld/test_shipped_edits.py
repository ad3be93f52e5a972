"""SLD editing on the shipped world model: fixed cases, judged as ``eval sld-edit`` judges them
(seeds of the set the paste mode was tried on while it was built, not the eval's)."""

from __future__ import annotations

import pytest
import torch

from scenecraft.core.settings import ASSETS

SHIPPED = ASSETS / "shapes-sd"
pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model_index.json").exists(), reason="no world model shipped in assets/ yet"
)


@pytest.fixture(scope="module")
def pipe():
    from scenecraft.eval.sld import _pipeline

    return _pipeline(str(SHIPPED), "cpu", 25, rounds=2)


@pytest.mark.parametrize("seed", [1001, 1005, 1009])  # a move, a swap, a recolour
def test_edits_happen_and_leave_the_rest_where_it_was(pipe, seed):
    from scenecraft.eval.sld import edit_passes, make_edit_case
    from scenecraft.shapesworld.detect import JUDGE_CONFIG, detect
    from scenecraft.shapesworld.grammar import SHAPES
    from scenecraft.shapesworld.render import render_scene

    case, scene = make_edit_case(seed)
    image = render_scene(scene, pipe.diffusion.default_size).image
    out = pipe.edit(case.instruction, image, list(SHAPES), torch.Generator().manual_seed(seed))
    ok, why = edit_passes(case, scene, detect(out.image, JUDGE_CONFIG), detect(image, JUDGE_CONFIG))
    assert ok, f"{case.instruction}: {why}"
