"""The render CLI: one folder per job, a contact sheet, and bad lines reported, not fatal."""

import json
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scenecraft.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"SCENECRAFT_ARTIFACTS": str(cwd / "store"), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_render_continues_past_bad_lines_and_reports_them(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    lines = [
        json.dumps({"pipeline": "world.render", "params": {"prompt": "a red star", "size": 64}}),
        json.dumps({"pipeline": "world.render", "params": {"prompt": "a star", "size": 5000}}),
        "{not json",
        json.dumps({"pipeline": "no.such", "params": {}}),
    ]
    data = ("\n".join(lines) + "\n").encode() + b'{"pipeline": "\xff\xfe"}\n'
    data += json.dumps(
        {"pipeline": "world.render", "params": {"prompt": "two blue hearts"}}
    ).encode()
    jobs.write_bytes(data)
    res = run_cli("render", str(jobs), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 1
    err = res.stderr
    assert "line 2" in err and "params.size" in err
    assert "line 3" in err and "not valid JSON" in err
    assert "line 4" in err and "unknown pipeline 'no.such'" in err
    assert "line 5" in err and "not valid UTF-8" in err
    out = tmp_path / "out"
    for folder in ("0001-world.render", "0006-world.render"):
        assert (out / folder / "final.png").stat().st_size > 0
        assert (out / folder / "final.svg").read_text().startswith("<svg")
        record = json.loads((out / folder / "record.json").read_text())
        assert record["record"]["seed"] is not None
    assert not (out / "0002-world.render").exists()
    sheet = Path(res.stdout.strip())
    assert sheet == (out / "index.html").resolve()
    assert "2/6 jobs succeeded" in sheet.read_text()


def test_judge_cli_says_why(tmp_path):
    from PIL import Image

    from scenecraft.world.prompts import parse_prompt, scene_from_spec
    from scenecraft.world.render import render_scene

    scene = scene_from_spec(parse_prompt("a green square above a pink heart"), 5)
    Image.fromarray(render_scene(scene, 128).image).save(tmp_path / "img.png")
    ok = run_cli(
        "judge", str(tmp_path / "img.png"), "a green square above a pink heart", cwd=tmp_path
    )
    assert ok.returncode == 0 and "SATISFIED" in ok.stdout
    bad = run_cli(
        "judge",
        str(tmp_path / "img.png"),
        "a pink heart above a green square",
        "--json",
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    verdict = json.loads(bad.stdout)
    assert verdict["ok"] is False and "does not hold" in verdict["reasons"][0]
    (tmp_path / "x.png").write_text("not an image")
    assert run_cli("judge", str(tmp_path / "x.png"), "a star", cwd=tmp_path).returncode == 2


def test_the_contact_sheet_shows_every_stage_picture_with_the_final_last(tmp_path):
    from scenecraft.render_batch import JobOutcome, contact_sheet

    folder = tmp_path / "0001-sld"
    folder.mkdir()
    names = ["final.png", "initial.png", "round1_boxes.png", "round1.png", "notes.json"]
    for name in names:
        (folder / name).write_bytes(b"x")
    record = {"artifacts": {n: {} for n in names}, "metrics": {}, "record": {"params": {}}}
    sheet = contact_sheet(tmp_path, [JobOutcome(1, "sld", folder, True, record=record)])
    html = sheet.read_text()
    shown = [n for n in names if f'src="0001-sld/{n}"' in html]
    assert shown == ["final.png", "initial.png", "round1_boxes.png", "round1.png"]
    order = sorted(shown, key=lambda n: html.index(f'src="0001-sld/{n}"'))
    assert order == ["initial.png", "round1_boxes.png", "round1.png", "final.png"]
