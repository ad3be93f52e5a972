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

    from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
    from scenecraft.shapesworld.render import render_scene

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
    from scenecraft.pipelines.batch import JobOutcome, contact_sheet

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


def test_a_picture_the_judge_rejects_is_marked_and_counted_on_the_contact_sheet(tmp_path):
    from PIL import Image

    from scenecraft.pipelines.batch import JobOutcome, contact_sheet, judge_final
    from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
    from scenecraft.shapesworld.render import render_scene

    scene = scene_from_spec(parse_prompt("a green square above a pink heart"), 5)
    outcomes = []
    for line, prompt in enumerate(
        ["a green square above a pink heart", "a pink heart above a green square"], start=1
    ):
        folder = tmp_path / f"{line:04d}-sld"
        folder.mkdir()
        Image.fromarray(render_scene(scene, 128).image).save(folder / "final.png")
        record = {"artifacts": {"final.png": {}}, "record": {"params": {"prompt": prompt}}}
        verdict = judge_final(folder, record["record"]["params"])
        outcomes.append(JobOutcome(line, "sld", folder, True, record=record, verdict=verdict))
    assert [o.judged_wrong for o in outcomes] == [False, True]
    # nothing to judge: no prompt (a vectorised image), or objects that are not ShapesWorld's
    assert judge_final(tmp_path / "0001-sld", {"image": {"scene": 1}}) is None
    assert judge_final(tmp_path / "0001-sld", {"prompt": "a cat on a mat"}) is None

    html = contact_sheet(tmp_path, outcomes).read_text()
    assert "2/2 jobs succeeded, 1 of them judged wrong" in html
    right, wrong = html.split('<div class="card')[1:]
    assert "judged right" in right and "judged wrong" not in right
    assert wrong.startswith(' wrong"') and "does not hold" in wrong.split("judged wrong: ")[1]


def test_render_into_an_earlier_out_replaces_its_job_folders_and_says_which(tmp_path):
    out = tmp_path / "out"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    job = {"pipeline": "world.render", "params": {"prompt": "a red star", "size": 64}}
    first.write_text(json.dumps(job) + "\n" + json.dumps(job) + "\n")
    second.write_text(json.dumps(job) + "\n")
    assert run_cli("render", str(first), "--out", str(out), cwd=tmp_path).returncode == 0
    (out / "0001-world.render" / "stale.png").write_bytes(b"from the first render")
    (out / "notes.txt").write_text("mine")
    (out / "2024-photos").mkdir()  # named like a job folder, but no record.json: not a job's
    res = run_cli("render", str(second), "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0
    assert "replacing 2 job folders of an earlier render: 0001-world.render, 0002-world.render" in (
        " ".join(res.stderr.split())
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "0001-world.render",
        "2024-photos",
        "index.html",
        "notes.txt",
    ]
    assert not (out / "0001-world.render" / "stale.png").exists()
    assert "1/1 jobs succeeded" in (out / "index.html").read_text()
