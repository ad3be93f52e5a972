"""Batch rendering in-process: JSONL/CSV jobs -> a folder per job + an index.html contact sheet."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenecraft.core.errors import InvalidParams, ScenecraftError
from scenecraft.core.progress import ProgressFn
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.registry import run_pipeline


@dataclass
class JobLine:
    line: int  # 1-based line number in the input file
    pipeline: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # set when the line itself could not be read


@dataclass
class JobOutcome:
    line: int
    pipeline: str
    folder: Path | None
    ok: bool
    error: str | None = None
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None  # the judge's {ok, reasons, checks}; None: not judged

    @property
    def judged_wrong(self) -> bool:
        return self.verdict is not None and not self.verdict["ok"]


def read_jobs(path: Path) -> list[JobLine]:
    """Read JSONL (``{"pipeline": ..., "params": {...}}`` per line) or CSV (``pipeline`` column plus
    one column per param; ``params`` may hold a JSON object). Bad lines come back with ``error``."""
    raw = path.read_bytes()
    jobs: list[JobLine] = []
    if path.suffix.lower() == ".csv":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return [JobLine(line=raw[: e.start].count(b"\n") + 1, error="line is not valid UTF-8")]
        for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            row = {k: v for k, v in row.items() if k and v not in (None, "")}
            name = row.pop("pipeline", "")
            params: dict[str, Any] = json.loads(row.pop("params")) if "params" in row else {}
            for k, v in row.items():
                try:
                    params[k] = json.loads(v)
                except json.JSONDecodeError:
                    params[k] = v
            jobs.append(JobLine(i, name, params, None if name else "missing 'pipeline' column"))
        return jobs
    for i, bline in enumerate(raw.splitlines(), start=1):
        if not bline.strip() or bline.lstrip().startswith(b"#"):
            continue
        try:
            obj = json.loads(bline.decode("utf-8"))
        except UnicodeDecodeError:
            jobs.append(JobLine(i, error="line is not valid UTF-8"))
            continue
        except json.JSONDecodeError as e:
            jobs.append(JobLine(i, error=f"not valid JSON: {e.msg} at column {e.colno}"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("pipeline"), str):
            jobs.append(JobLine(i, error='expected {"pipeline": "...", "params": {...}}'))
            continue
        params = obj.get("params", {})
        if not isinstance(params, dict):
            jobs.append(JobLine(i, obj["pipeline"], error="'params' must be a JSON object"))
            continue
        jobs.append(JobLine(i, obj["pipeline"], params))
    return jobs


def job_folder(out: Path, job: JobLine) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in job.pipeline) or "invalid"
    return out / f"{job.line:04d}-{safe}"


JOB_FOLDER_RE = re.compile(r"^[0-9]{4,}-[A-Za-z0-9._-]+$")


def clear_earlier_render(out: Path) -> list[str]:
    """Remove the job folders an earlier render left in ``out``; returns their names.

    Only folders named as ``job_folder`` names them and holding a ``record.json`` are removed,
    so the new contact sheet never sits beside stale results and nothing else in ``out`` goes.
    """
    if not out.is_dir():
        return []
    earlier = sorted(
        d for d in out.iterdir() if JOB_FOLDER_RE.match(d.name) and (d / "record.json").is_file()
    )
    for d in earlier:
        shutil.rmtree(d)
    return [d.name for d in earlier]


def judge_final(folder: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """The ShapesWorld judge's verdict on a job's ``final.png`` against what it was asked for
    (``prompt``, or a SLATE composition's ``concepts``). None when the job asked for no scene, or
    for objects that are not ShapesWorld shapes, which the judge cannot read."""
    import numpy as np
    from PIL import Image

    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.grammar import SHAPES
    from scenecraft.shapesworld.judge import judge
    from scenecraft.shapesworld.prompts import parse_prompt

    text = params.get("prompt") or params.get("concepts")
    image = folder / "final.png"
    if not isinstance(text, str) or not image.is_file():
        return None
    spec = parse_prompt(text)
    if not spec.objects or any(o.name not in SHAPES for o in spec.objects):
        return None
    pixels = np.asarray(Image.open(image).convert("RGB"))
    return judge(detect(pixels), spec).to_dict()


def run_job(
    job: JobLine, out: Path, store_dir: Path, device: str, progress: ProgressFn | None = None
) -> JobOutcome:
    """Validate and run one job line; write its artifacts and ``record.json`` into its folder."""
    if job.error:
        return JobOutcome(job.line, job.pipeline, None, False, job.error)
    t0 = time.perf_counter()
    try:
        store = open_store(str(store_dir))
        result = run_pipeline(
            job.pipeline, job.params, store=store, device=device, progress=progress
        )
    except InvalidParams as e:
        return JobOutcome(job.line, job.pipeline, None, False, str(e))
    except ScenecraftError as e:
        return JobOutcome(job.line, job.pipeline, None, False, str(e))
    except Exception as e:  # a bug in a pipeline must not stop the batch; keep the trace
        trace = traceback.format_exc(limit=4)
        return JobOutcome(job.line, job.pipeline, None, False, f"{type(e).__name__}: {e}\n{trace}")
    folder = job_folder(out, job)
    if folder.exists():  # a half-written folder of an interrupted render: start it afresh
        shutil.rmtree(folder)
    result.save(folder)
    seconds = time.perf_counter() - t0
    record = result.to_dict()
    verdict = judge_final(folder, record["record"].get("params", {}))
    return JobOutcome(job.line, job.pipeline, folder, True, None, seconds, record, verdict)


def summary(outcomes: list[JobOutcome]) -> str:
    """``7/8 jobs succeeded, 2 of them judged wrong``: the contact sheet's and the CLI's count."""
    done = [o for o in outcomes if o.ok]
    text = f"{len(done)}/{len(outcomes)} jobs succeeded"
    wrong = sum(o.judged_wrong for o in done)
    return f"{text}, {wrong} of them judged wrong" if wrong else text


def contact_sheet(out: Path, outcomes: list[JobOutcome]) -> Path:
    """Write ``out/index.html``: one card per job with its final picture(s), prompt and status."""
    cards = []
    for o in outcomes:
        title = f"line {o.line} · {html.escape(o.pipeline or '?')}"
        if not o.ok:
            err = html.escape(o.error or "")
            cards.append(f'<div class="card bad"><h2>{title}</h2><pre>{err}</pre></div>')
            continue
        assert o.folder is not None
        rel = o.folder.name
        params = o.record.get("record", {}).get("params", {})
        asked = params.get("prompt") or params.get("concepts") or params.get("instruction")
        caption = html.escape(str(asked or ""))
        # every picture the pipeline made, in the order its stages made them, the final last
        names = [n for n in o.record.get("artifacts", {}) if n.endswith((".png", ".svg"))]
        names.sort(key=lambda n: n.startswith("final."))
        imgs = "".join(
            f'<figure><img src="{rel}/{name}" alt="{name} of line {o.line}"><figcaption>{name}'
            "</figcaption></figure>"
            for name in names
            if (o.folder / name).exists()
        )
        metrics = html.escape(json.dumps(o.record.get("metrics", {})))
        if o.verdict is None:
            cls, judged = "card", ""
        elif o.verdict["ok"]:
            cls, judged = "card", '<p class="right">judged right</p>'
        else:
            reasons = html.escape("; ".join(o.verdict["reasons"]))
            cls, judged = "card wrong", f'<p class="wrong">judged wrong: {reasons}</p>'
        cards.append(
            f'<div class="{cls}"><h2>{title}</h2><p>{caption}</p>{judged}<div class="row">{imgs}'
            f'</div><p class="m">{metrics} · {o.seconds:.2f}s · '
            f'<a href="{rel}/record.json">record</a></p></div>'
        )
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>scenecraft contact sheet</title>"
        "<meta name=viewport content='width=device-width, initial-scale=1'><style>"
        "body{font-family:system-ui,sans-serif;margin:1rem;background:#fafafa}"
        ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:1rem}"
        ".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.5rem}"
        ".bad{border-color:#c33}.row{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}"
        ".card.wrong{border:2px solid #d80}p.wrong{color:#a50;font-weight:600}p.right{color:#383}"
        "img{width:140px;height:140px;object-fit:contain;border:1px solid #eee}"
        "h2{font-size:1rem;margin:.2rem 0}.m{font-size:.75rem;color:#555}"
        "pre{white-space:pre-wrap;font-size:.75rem;color:#a22}</style>"
        f"<h1>scenecraft · {html.escape(summary(outcomes))}</h1>"
        "<p class=m>judged: each final picture checked against its prompt by the ShapesWorld "
        "judge (prompts naming only ShapesWorld shapes)</p>"
        f'<div class="grid">{"".join(cards)}</div></html>\n'
    )
    path = out / "index.html"
    path.write_text(page)
    return path
