"""The ``scenecraft`` command line: render batches in-process, judge images, run benchmarks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
eval_app = typer.Typer(no_args_is_help=True, help="Benchmarks: print a table, write JSON.")
app.add_typer(eval_app, name="eval")
console = Console(stderr=True)


@app.command()
def render(
    jobs: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL or CSV of jobs"),
    out: Path = typer.Option(Path("out/render"), "--out", "-o", help="output folder"),
    device: str = typer.Option("", help="torch device (default: settings)"),
) -> None:
    """Run every job of a JSONL/CSV file in-process; one folder per job plus index.html."""
    from scenecraft.render_batch import contact_sheet, read_jobs, run_job
    from scenecraft.settings import get_settings

    settings = get_settings()
    lines = read_jobs(jobs)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}")]
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        overall = bar.add_task(f"{len(lines)} jobs", total=len(lines), stage="")
        for job in lines:
            task = bar.add_task(f"line {job.line} {job.pipeline}", total=None, stage="")

            def on_progress(ev: dict, task=task) -> None:
                total = ev["total"] or None
                bar.update(task, completed=ev["step"], total=total, stage=ev["stage"])

            o = run_job(job, out, Path(settings.artifacts), device or settings.device, on_progress)
            bar.update(task, stage="done" if o.ok else "FAILED", completed=1, total=1)
            bar.advance(overall)
            outcomes.append(o)
    sheet = contact_sheet(out, outcomes)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        console.print(f"[red]line {o.line}[/red] ({o.pipeline or '?'}): {o.error}")
    console.print(f"{len(outcomes) - len(failed)}/{len(outcomes)} jobs succeeded")
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

    from scenecraft.world.detect import detect
    from scenecraft.world.judge import judge as judge_fn
    from scenecraft.world.prompts import parse_prompt

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
    from scenecraft.world.benchmark import PROMPT_SEEDS, prompt_set

    if which not in PROMPT_SEEDS:
        console.print(f"[red]--which must be one of {', '.join(PROMPT_SEEDS)}[/red]")
        raise typer.Exit(2)
    for p in prompt_set(n, which, offset):
        if pipeline:
            row = {"pipeline": pipeline, "params": {"prompt": p.prompt, "seed": p.seed}}
        else:
            row = p.to_dict()
        sys.stdout.write(json.dumps(row) + "\n")


@eval_app.command("detector")
def eval_detector(
    n: int = typer.Option(500, help="scenes"),
    size: int = typer.Option(128, help="canvas side"),
    out: Path = typer.Option(Path("eval/results/detector.json")),
) -> None:
    """Precision/recall/count accuracy of the ShapesWorld detector, clean and degraded."""
    from scenecraft.eval.detector import main

    main(n=n, size=size, out=out)


if __name__ == "__main__":
    app()
