"""Batch rendering in-process: JSONL/CSV jobs -> a folder per job + an index.html contact sheet."""

from __future__ import annotations

import csv
import html
import io
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenecraft.errors import InvalidParams, ScenecraftError
from scenecraft.pipelines.artifacts import open_store
from scenecraft.pipelines.base import make_context
from scenecraft.pipelines.registry import execute, validate


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


def run_job(job: JobLine, out: Path, store_dir: Path, device: str, on_progress=None) -> JobOutcome:
    """Validate and run one job line; write its artifacts and ``record.json`` into its folder."""
    if job.error:
        return JobOutcome(job.line, job.pipeline, None, False, job.error)
    t0 = time.perf_counter()
    try:
        pipe, params = validate(job.pipeline, job.params)
        ctx = make_context(open_store(str(store_dir)), params.seed, device, on_progress=on_progress)
        result = execute(pipe, params, ctx)
    except InvalidParams as e:
        return JobOutcome(job.line, job.pipeline, None, False, str(e))
    except ScenecraftError as e:
        return JobOutcome(job.line, job.pipeline, None, False, str(e))
    except Exception as e:  # a bug in a pipeline must not stop the batch; keep the trace
        trace = traceback.format_exc(limit=4)
        return JobOutcome(job.line, job.pipeline, None, False, f"{type(e).__name__}: {e}\n{trace}")
    folder = job_folder(out, job)
    folder.mkdir(parents=True, exist_ok=True)
    for name in result.artifacts:
        (folder / name).write_bytes(ctx.artifacts.get(name))
    record = result.to_dict()
    (folder / "record.json").write_text(json.dumps(record, indent=1, default=str))
    return JobOutcome(
        job.line, job.pipeline, folder, True, seconds=time.perf_counter() - t0, record=record
    )


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
        caption = html.escape(str(params.get("prompt") or params.get("instruction") or ""))
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
        cards.append(
            f'<div class="card"><h2>{title}</h2><p>{caption}</p><div class="row">{imgs}</div>'
            f'<p class="m">{metrics} · {o.seconds:.2f}s · <a href="{rel}/record.json">record</a>'
            "</p></div>"
        )
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>scenecraft contact sheet</title>"
        "<meta name=viewport content='width=device-width, initial-scale=1'><style>"
        "body{font-family:system-ui,sans-serif;margin:1rem;background:#fafafa}"
        ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:1rem}"
        ".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.5rem}"
        ".bad{border-color:#c33}.row{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}"
        "img{width:140px;height:140px;object-fit:contain;border:1px solid #eee}"
        "h2{font-size:1rem;margin:.2rem 0}.m{font-size:.75rem;color:#555}"
        "pre{white-space:pre-wrap;font-size:.75rem;color:#a22}</style>"
        f"<h1>scenecraft · {sum(o.ok for o in outcomes)}/{len(outcomes)} jobs succeeded</h1>"
        f'<div class="grid">{"".join(cards)}</div></html>\n'
    )
    path = out / "index.html"
    path.write_text(page)
    return path
