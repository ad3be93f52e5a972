"""``eval world-model-history``: the learning curve across sessions from the shipped record."""

from __future__ import annotations

import json

import pytest

from scenecraft.eval.world_model_history import main


def _row(label, steps, single, grounded, **extra):
    return {
        "date": "2026-12-06",
        "label": label,
        "steps": steps,
        "samples": steps * 32,
        "minutes": 90.0,
        "on": "CPU",
        "single_object": single,
        "grounded_recall": grounded,
        "lmd_overall": 0.1,
        "inversion_psnr": 26.0,
        "command": "x",
        **extra,
    }


def test_history_lists_shipped_and_lost_sessions_in_step_order_and_plots_them(tmp_path):
    model = tmp_path / "shapes-sd"
    model.mkdir()
    record = {
        "history": [_row("a", 100, 0.2, 0.1), _row("b", 300, 0.4, 0.4)],
        "not_shipped": [_row("lost", 500, 0.35, 0.38, from_steps=300, report_file="r.json")],
    }
    (model / "training.json").write_text(json.dumps(record))
    out = tmp_path / "h.json"
    rows = main(model, out)
    assert [(r["label"], r["shipped"]) for r in rows] == [("a", True), ("b", True), ("lost", False)]
    assert json.loads(out.read_text())["sessions"][2]["from_steps"] == 300
    assert out.with_suffix(".png").stat().st_size > 10_000


def test_a_folder_without_a_record_is_refused(tmp_path):
    with pytest.raises(ValueError, match="training record"):
        main(tmp_path, tmp_path / "h.json")
