"""``eval svgcraft``'s summary: where a wrong raster came from (per-box stage or the fusion)."""

from scenecraft.eval.svgcraft import _summary


def _row(ok: bool, raster_ok: bool, unrecognised: int | None, category: str = "numeracy") -> dict:
    return {
        "ok": ok,
        "raster_ok": raster_ok,
        "category": category,
        "psnr": 40.0,
        "paths": 2,
        "svg_bytes": 900,
        "seconds": 5.0,
        "unrecognised": unrecognised,
        "box_attempts": 2,
    }


def test_summary_splits_failures_between_boxes_and_fusion() -> None:
    rows = [
        _row(True, True, 0),  # right
        _row(False, False, 0),  # every box recognised, lost in the fused pass
        _row(False, False, 1),  # a box never recognised
        _row(False, True, 0),  # lost in the SVG, not the raster
    ]
    s = _summary(rows)
    assert s["accuracy"] == 0.25
    assert s["raster_accuracy"] == 0.5
    assert s["all_recognised"] == 0.75
    assert s["lost_in_fusion"] == 0.25


def test_summary_without_per_box_stage_has_no_attribution() -> None:
    s = _summary([_row(True, True, None), _row(False, False, None)])
    assert "all_recognised" not in s and "lost_in_fusion" not in s


def test_summary_counts_lost_and_repaired_objects_of_a_repairing_variant() -> None:
    rows = [_row(True, True, 0) | {"lost_objects": 2, "repaired": 1, "strays_cleared": 1}]
    rows += [_row(False, False, 0) | {"lost_objects": 1, "repaired": 0, "strays_cleared": 0}]
    rows += [_row(False, False, 0) | {"lost_objects": 0, "repaired": 0}]  # a JSON before strays
    s = _summary(rows)
    assert (s["lost_objects"], s["repaired"], s["strays_cleared"]) == (3, 1, 1)
    assert "lost_objects" not in _summary([_row(True, True, 0)])


def test_eval_svgcraft_checks_its_params_against_the_pipelines_before_any_prompt(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    out = tmp_path / "r.json"
    for flag, value, field in (("--guidance", "50", "guidance"), ("--attempts", "0", "attempts")):
        args = ["eval", "svgcraft", "--oracle", "--n", "1", flag, value, "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert f"params.{field}" in result.output and not out.exists()


def test_eval_svgcraft_and_sld_name_an_unknown_category_before_any_prompt(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    out = tmp_path / "r.json"
    for system in ("svgcraft", "sld"):
        args = ["eval", system, "--categories", "spatial,corners", "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "'corners'" in result.output and "placement" in result.output
        assert not out.exists()
