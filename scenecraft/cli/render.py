"""``render``, ``judge``, ``pipelines``, ``prompts`` and ``vectorize``: jobs run in this process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from scenecraft.cli.groups import app, console

if TYPE_CHECKING:
    from scenecraft.core.progress import Progress as JobProgress


@app.command()
def render(
    jobs: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL or CSV of jobs"),
    out: Path = typer.Option(Path("out/render"), "--out", "-o", help="output folder"),
    device: str = typer.Option("", help="torch device (default: settings)"),
) -> None:
    """Run every job of a JSONL/CSV file in-process; one folder per job plus index.html.

    Job folders an earlier render left in --out are replaced, and named when they are."""
    from rich.markup import escape

    from scenecraft.core.settings import get_settings
    from scenecraft.pipelines.batch import (
        clear_earlier_render,
        contact_sheet,
        read_jobs,
        run_job,
        summary,
    )

    settings = get_settings()
    lines = read_jobs(jobs)
    replaced = clear_earlier_render(out)
    if replaced:
        names = ", ".join(replaced[:10]) + (", ..." if len(replaced) > 10 else "")
        console.print(f"replacing {len(replaced)} job folders of an earlier render: {names}")
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}")]
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        overall = bar.add_task(f"{len(lines)} jobs", total=len(lines), stage="")
        for job in lines:
            task = bar.add_task(f"line {job.line} {job.pipeline}", total=None, stage="")

            def on_progress(p: JobProgress, task=task) -> None:
                total = p.total or None
                bar.update(task, completed=p.step, total=total, stage=p.stage)

            o = run_job(job, out, Path(settings.artifacts), device or settings.device, on_progress)
            bar.update(task, stage="done" if o.ok else "FAILED", completed=1, total=1)
            bar.advance(overall)
            outcomes.append(o)
    sheet = contact_sheet(out, outcomes)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        console.print(f"[red]line {o.line}[/red] ({o.pipeline or '?'}): {o.error}")
    for o in outcomes:
        if o.judged_wrong:
            reasons = escape("; ".join(o.verdict["reasons"]))
            console.print(f"[yellow]line {o.line}[/yellow] ({o.pipeline}) judged wrong: {reasons}")
    console.print(summary(outcomes))
    print(sheet.resolve())
    if failed:
        raise typer.Exit(1)


@app.command()
def judge(
    image: Path = typer.Argument(..., exists=True, dir_okay=False),
    prompt: str = typer.Argument(..., help="what the image should show"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Detect shapes in any image and say whether it satisfies a ShapesWorld prompt."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from scenecraft.shapesworld.detect import detect
    from scenecraft.shapesworld.judge import judge as judge_fn
    from scenecraft.shapesworld.prompts import parse_prompt

    try:
        img = np.asarray(Image.open(image).convert("RGB"))
    except UnidentifiedImageError:
        console.print(f"[red]{image} is not an image PIL can read[/red]")
        raise typer.Exit(2) from None
    dets = detect(img)
    spec = parse_prompt(prompt)
    verdict = judge_fn(dets, spec)
    if as_json:
        print(
            json.dumps(
                {
                    "detections": [d.to_dict() for d in dets],
                    "spec": spec.model_dump(),
                    **verdict.to_dict(),
                },
                indent=1,
            )
        )
    else:
        for d in dets:
            x, y, w, h = d.box
            print(f"{d.label:18s} score {d.score:.2f}  box [{x:.2f} {y:.2f} {w:.2f} {h:.2f}]")
        print("SATISFIED" if verdict.ok else "NOT SATISFIED")
        for r in verdict.reasons:
            print(f"  - {r}")
    if not verdict.ok:
        raise typer.Exit(1)


@app.command("pipelines")
def list_pipelines(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the registered pipelines (name, queue, description; --json adds param schemas)."""
    from scenecraft.pipelines.registry import pipelines

    if as_json:
        data = {
            n: {
                "queue": p.queue,
                "description": p.description,
                "params": p.params.model_json_schema(),
            }
            for n, p in pipelines().items()
        }
        print(json.dumps(data, indent=1))
        return
    for name, p in pipelines().items():
        print(f"{name:16s} {p.queue:4s} {p.description}")


@app.command()
def prompts(
    which: str = typer.Option("benchmark", help="benchmark | heldout_prompts"),
    n: int = typer.Option(100, help="prompts per category"),
    offset: int = typer.Option(0, help="seed offset (use a new one for a fresh held-out set)"),
    pipeline: str = typer.Option("", help="emit render-job JSONL for this pipeline instead"),
) -> None:
    """Print a ShapesWorld benchmark prompt set as JSONL (four LMD categories)."""
    from scenecraft.shapesworld.benchmark import PROMPT_SEEDS, prompt_set

    if which not in PROMPT_SEEDS:
        console.print(f"[red]--which must be one of {', '.join(PROMPT_SEEDS)}[/red]")
        raise typer.Exit(2)
    for p in prompt_set(n, which, offset):
        if pipeline:
            row = {"pipeline": pipeline, "params": {"prompt": p.prompt, "seed": p.seed}}
        else:
            row = p.to_dict()
        sys.stdout.write(json.dumps(row) + "\n")


@app.command()
def vectorize(
    image: Path = typer.Argument(..., exists=True, dir_okay=False, help="PNG or JPEG to trace"),
    out: Path = typer.Option(..., "--out", "-o", help="SVG file to write"),
    paths: int = typer.Option(
        64, "--paths", help="paths for grid / blobs / strokes; at most this many for regions"
    ),
    iters: int = typer.Option(200, "--iters", help="optimisation steps (at most: early stop)"),
    loss: str = typer.Option("l2", "--loss", help="l2 | ssim | lpips"),
    init: str = typer.Option(
        "auto", "--init", help="auto (= regions) | regions | grid | blobs | strokes"
    ),
    size: int = typer.Option(256, "--size", help="longest side of the fit, pixels"),
    seed: int | None = typer.Option(None, "--seed"),
    device: str = typer.Option("", help="torch device (default: settings)"),
) -> None:
    """Fit a layered SVG to an image (the ``vectorize`` pipeline, run in-process)."""
    import base64

    from scenecraft.core.errors import ScenecraftError
    from scenecraft.core.settings import get_settings
    from scenecraft.pipelines.artifacts import open_store
    from scenecraft.pipelines.registry import run_pipeline, validate

    settings = get_settings()
    params = {
        "image": {"png_base64": base64.b64encode(image.read_bytes()).decode()},
        "paths": paths,
        "iters": iters,
        "loss": loss,
        "init": init,
        "size": size,
        "seed": seed,
    }
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}")]
    try:
        pipe, valid = validate("vectorize", params)  # before the bar: a bad option shows alone
        with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"vectorize {image.name}", total=None, stage="")

            def on_progress(p: JobProgress) -> None:
                bar.update(task, completed=p.step, total=p.total or None, stage=p.stage)

            result = run_pipeline(
                pipe,
                valid,
                store=open_store(settings.artifacts),
                device=device or settings.device,
                progress=on_progress,
            )
    except ScenecraftError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    # write next to the destination, then rename: a failed run never leaves a partial file
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(result.read("final.svg"))
    partial.replace(out)
    console.print(" ".join(f"{k} {v}" for k, v in result.metrics.items()))
    print(out.resolve())
