"""``scenecraft eval sheets``: every stage of each job on one sheet, each final picture judged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scenecraft.eval.sheets import CELL, main, stage_names


def test_stages_are_in_the_order_of_the_method():
    names = ["final.png", "round2_boxes.png", "round1.png", "round1_boxes.png", "initial.png"]
    assert stage_names("sld", names) == [
        "initial.png",
        "round1_boxes.png",
        "round2_boxes.png",
        "final.png",
    ]
    assert stage_names("svgcraft", []) == [
        "layout.png",
        "box_latents.png",
        "fused.png",
        "final.png",
    ]


@pytest.mark.parametrize(
    ("system", "params", "prompts"),
    [
        ("sld", {"steps": 3, "rounds": 1}, ("a red circle and a blue square", "two yellow stars")),
        ("svgcraft", {"steps": 2, "iters": 5}, ("two yellow stars",)),
    ],
)
def test_a_sheet_has_a_row_per_prompt_and_each_verdict_is_the_judges(
    system, params, prompts, tiny_sd, tmp_path, monkeypatch
):
    monkeypatch.delenv("SCENECRAFT_WORLD_MODEL", raising=False)
    out = tmp_path / f"sheet_{system}.png"
    summary = main(system, str(tiny_sd), out, prompts, params)
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["prompt"] for r in rows] == list(prompts)
    assert summary == {"right": sum(r["ok"] for r in rows), "n": len(prompts)}
    # a random-weight model draws no shapes: the judge says why each row is wrong
    assert all(not r["ok"] and r["reasons"] for r in rows)
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[0] >= len(prompts) * CELL and sheet.shape[1] > 3 * CELL
    # the settings are left as they were
    import os

    assert "SCENECRAFT_WORLD_MODEL" not in os.environ


def test_an_unknown_system_is_refused(tmp_path):
    with pytest.raises(ValueError, match="system must be one of"):
        main("slate", "x", tmp_path / "s.png")
