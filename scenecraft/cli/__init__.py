"""The ``scenecraft`` command line: render batches in-process, judge images, run benchmarks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from scenecraft.progress import Progress as JobProgress

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
eval_app = typer.Typer(no_args_is_help=True, help="Benchmarks: print a table, write JSON.")
app.add_typer(eval_app, name="eval")
plan_app = typer.Typer(no_args_is_help=True, help="Show what the planner makes of a prompt.")
app.add_typer(plan_app, name="plan")
train_app = typer.Typer(no_args_is_help=True, help="Train the embedded models.")
app.add_typer(train_app, name="train")
console = Console(stderr=True)


@app.command()
def render(
    jobs: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL or CSV of jobs"),
    out: Path = typer.Option(Path("out/render"), "--out", "-o", help="output folder"),
    device: str = typer.Option("", help="torch device (default: settings)"),
) -> None:
    """Run every job of a JSONL/CSV file in-process; one folder per job plus index.html.

    Job folders an earlier render left in --out are replaced, and named when they are."""
    from rich.markup import escape

    from scenecraft.render_batch import (
        clear_earlier_render,
        contact_sheet,
        read_jobs,
        run_job,
        summary,
    )
    from scenecraft.settings import get_settings

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


@eval_app.command("planner")
def eval_planner(
    paraphrases: int = typer.Option(300, help="held-out paraphrases (a quarter per category)"),
    corrections: int = typer.Option(300, help="synthetic (spec, perturbed detections) pairs"),
    out: Path = typer.Option(Path("eval/results/planner.json")),
) -> None:
    """Offline planner: parse exact match, layouts that satisfy the spec, corrections."""
    from scenecraft.eval.planner import main

    main(n_paraphrases=paraphrases, n_corrections=corrections, out=out)


def _run_planner(name: str, job):
    """Run ``job(planner)``; planner errors become a red message and exit status 1."""
    from scenecraft.errors import InvalidParams, PlannerError
    from scenecraft.planner import get_planner

    try:
        return job(get_planner(name or None))
    except (PlannerError, InvalidParams) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None


@plan_app.command("parse")
def plan_parse(
    prompt: str = typer.Argument(..., help="the prompt to read"),
    planner: str = typer.Option("", help="offline | openai (default: SCENECRAFT_PLANNER)"),
    as_json: bool = typer.Option(False, "--json", help="print the SceneSpec as JSON"),
) -> None:
    """Print the objects, counts, relations, negations and background a planner reads."""
    spec = _run_planner(planner, lambda p: p.parse(prompt))
    if as_json:
        print(spec.model_dump_json(indent=1))
        return
    for i, o in enumerate(spec.objects):
        print(f"[{i}] {o.count} x {o.phrase}")
    for r in spec.relations:
        other = f" and [{r.object2}]" if r.object2 is not None else ""
        print(f"[{r.subject}] {r.relation} [{r.object}]{other}")
    for n in spec.negations:
        print(f"no {n.phrase}")
    if spec.background:
        print(f"background: {spec.background}")
    for w in spec.warnings:
        print(f"warning: {w}")


@plan_app.command("layout")
def plan_layout(
    prompt: str = typer.Argument(..., help="the prompt to lay out"),
    planner: str = typer.Option("", help="offline | openai (default: SCENECRAFT_PLANNER)"),
    size: str = typer.Option("512x512", help="canvas WIDTHxHEIGHT in pixels"),
    as_json: bool = typer.Option(False, "--json", help="print the Layout as JSON"),
) -> None:
    """Print the box of every object ([x, y, w, h] in [0, 1], top-left origin)."""
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        console.print(f"[red]--size must look like 512x512, got {size!r}[/red]")
        raise typer.Exit(2) from None
    layout = _run_planner(planner, lambda p: p.layout(prompt, (width, height)))
    if as_json:
        print(layout.model_dump_json(indent=1))
        return
    for it in layout.items:
        x, y, w, h = it.box
        print(f"{it.label:24s} box [{x:.3f} {y:.3f} {w:.3f} {h:.3f}]")
    if layout.background:
        print(f"background: {layout.background}")
    if layout.negative_prompt:
        print(f"negative prompt: {layout.negative_prompt}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for all)"),
    port: int = typer.Option(8000),
    include: list[str] = typer.Option([], help="extra modules that register pipelines"),
) -> None:
    """Run the REST API (jobs, batches, events, artifacts) over the Redis in settings."""
    import importlib

    import uvicorn

    from scenecraft.api.app import create_app
    from scenecraft.api.server import uvicorn_config
    from scenecraft.worker.config import get_service_settings

    for module in include:
        importlib.import_module(module)
    config = uvicorn_config(create_app(), host, port, get_service_settings())
    uvicorn.Server(config).run()


@app.command()
def worker(
    queues: str = typer.Option("gpu,cpu", help="queues to take jobs from, comma-separated"),
    concurrency: int = typer.Option(1, help="job processes (one per GPU is typical)"),
    name: str = typer.Option("scenecraft@%h", help="node name, unique per worker on a machine"),
    include: list[str] = typer.Option([], help="extra modules that register pipelines"),
    loglevel: str = typer.Option("info"),
) -> None:
    """Run a Celery worker that takes jobs from the given queues."""
    from scenecraft.worker.app import celery_app
    from scenecraft.worker.store import QUEUES

    unknown = sorted(set(queues.split(",")) - set(QUEUES))
    if unknown:
        console.print(f"[red]unknown queue(s) {', '.join(unknown)}; use {', '.join(QUEUES)}[/red]")
        raise typer.Exit(2)
    argv = ["worker", "-Q", queues, "-c", str(concurrency), "-P", "prefork", "-n", name]
    argv += ["-l", loglevel, "--without-gossip", "--without-mingle"]
    for module in include:
        argv += ["-I", module]
    celery_app.worker_main(argv)


@app.command()
def submit(
    jobs: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL or CSV of jobs"),
    server: str = typer.Option(..., envvar="SCENECRAFT_SERVER", help="e.g. http://host:8000"),
    key: str = typer.Option(..., envvar="SCENECRAFT_KEY", help="API key"),
    out: Path = typer.Option(Path("out/submit"), "--out", "-o", help="output folder"),
) -> None:
    """Submit a jobs file to a server as one batch, follow it, download the artifacts.

    Running it again after an interruption resumes the same batch without resubmitting.
    """
    from scenecraft.api.remote import submit_file

    try:
        failed = submit_file(jobs, server, key, out, console)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume the same batch")
        raise typer.Exit(130) from None
    for f in failed:
        where = f"line {f.line}" if f.line else "batch"
        job = f" job {f.job_id}" if f.job_id else ""
        console.print(f"[red]{where}[/red] ({f.pipeline or '?'}){job}: {f.error}")
    if failed:
        raise typer.Exit(1)
    console.print(f"all jobs succeeded; artifacts in {out}")


@train_app.command("world-model")
def train_world_model(
    out: Path = typer.Option(Path("runs/world-model"), "--out", "-o", help="run folder"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out"),
    steps: int | None = typer.Option(None, "--steps", help="total UNet steps (default: config)"),
    device: str = typer.Option("cpu", "--device", help="torch device"),
    latents: int | None = typer.Option(
        None, "--latents", help="training scenes to encode (a resumed run can grow the cache)"
    ),
    decoder_steps: int | None = typer.Option(
        None, "--decoder-steps", help="decoder-only VAE fine-tuning steps (encoder frozen)"
    ),
    preset: str = typer.Option("cpu", "--preset", help="training sizes: cpu | gpu"),
    vae_time: float = typer.Option(0.0, "--vae-time", help="cap on VAE seconds (0: none)"),
    decoder_time: float = typer.Option(0.0, "--decoder-time", help="cap on decoder seconds"),
    time_limit: float = typer.Option(
        0.0, "--time-limit", help="stop the UNet this many seconds after the start, then export"
    ),
    workers: int | None = typer.Option(None, "--workers", help="scene-rendering processes"),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="continue a run trained elsewhere (its folder, with model/)"
    ),
    vae_from: Path | None = typer.Option(
        None, "--vae-from", help="start from a finished VAE, e.g. scenecraft/assets/shapes-sd-vae"
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        help="override a model or training field (JSON value): --set unet_channels=[32,64,128]",
    ),
) -> None:
    """Train the ShapesWorld world model (VAE, text encoder, GLIGEN UNet); exports <out>/model.

    --init-from scenecraft/assets/shapes-sd continues the shipped model (fresh optimiser)."""
    import sys
    from dataclasses import replace

    from scenecraft.models.world_model.train import PRESETS, train

    if preset not in PRESETS:
        console.print(f"[red]--preset must be one of {', '.join(PRESETS)}[/red]")
        raise typer.Exit(2)
    tc = replace(
        PRESETS[preset],
        vae_time_s=vae_time,
        decoder_time_s=decoder_time,
        time_limit_s=time_limit,
        **({"render_workers": workers} if workers else {}),
    )
    try:
        model = train(
            out,
            steps=steps,
            resume=resume,
            device=device,
            latents=latents,
            decoder_steps=decoder_steps,
            train_config=tc,
            command="scenecraft " + " ".join(sys.argv[1:]),
            init_from=init_from,
            vae_from=vae_from,
            overrides=set_,
        )
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    print(model.resolve())


@train_app.command("world-model-ship")
def train_world_model_ship(
    run: Path = typer.Argument(..., help="run folder with model/ (train world-model --out)"),
    report: Path = typer.Option(..., "--report", help="eval world-model JSON of RUN/model"),
    to: Path | None = typer.Option(None, "--to", help="default: scenecraft/assets/shapes-sd"),
    label: str = typer.Option("", "--label", help="the history row's name (default: RUN)"),
    force: bool = typer.Option(False, "--force", help="ship even if it measures no better"),
) -> None:
    """Ship a run's model (fp16) if it measures better than the shipped one; card + history."""
    from scenecraft.models.world_model.ship import ship
    from scenecraft.settings import ASSETS

    try:
        ship(run, report, to or ASSETS / "shapes-sd", label or run.name, force=force)
    except (FileNotFoundError, ValueError, KeyError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@eval_app.command("world-model")
def eval_world_model(
    model: str = typer.Option("", "--model", help="diffusers folder or id (default: settings)"),
    out: Path = typer.Option(Path("eval/results/world_model.json"), "--out", "-o"),
    n_single: int = typer.Option(96, min=1, help="single-object prompts"),
    n_grounded: int = typer.Option(48, min=1, help="grounded layouts (1-4 boxes)"),
    lmd: int = typer.Option(100, min=1, help="LMD benchmark prompts per category"),
    n_inversion: int = typer.Option(16, min=1, help="inversion round trips"),
    steps: int = typer.Option(25, min=1, help="DDIM steps"),
    guidance: float = typer.Option(3.0, help="classifier-free guidance"),
    device: str = typer.Option("cpu", help="torch device"),
) -> None:
    """Judge the diffusion world model: single objects, grounding, LMD prompts, inversion."""
    from scenecraft.eval.world_model import main
    from scenecraft.settings import get_settings

    main(
        model or get_settings().world_model,
        out,
        n_single=n_single,
        n_grounded=n_grounded,
        lmd_per_category=lmd,
        n_inversion=n_inversion,
        steps=steps,
        guidance=guidance,
        device=device,
    )


@eval_app.command("layout-fraction")
def eval_layout_fraction(
    model: str = typer.Option("", "--model", help="diffusers folder (default: settings)"),
    out: Path = typer.Option(Path("eval/results/layout_fraction.json"), "--out", "-o"),
    fractions: str = typer.Option("0,0.3,0.5,1", help="shares of the steps, comma-separated"),
    n: int = typer.Option(24, min=1, help="single boxes, and scene layouts, per fraction"),
    steps: int = typer.Option(20, min=1, help="DDIM steps"),
) -> None:
    """For how many steps a layout-map UNet gets its map (tuning layouts, not the eval's)."""
    from scenecraft.eval.layout_fraction import main
    from scenecraft.settings import get_settings

    try:
        values = [float(f) for f in fractions.split(",")]
    except ValueError:
        console.print(f"[red]--fractions {fractions!r}: expected numbers such as 0,0.3,1[/red]")
        raise typer.Exit(2) from None
    if not values or any(not 0 <= v <= 1 for v in values):
        console.print(f"[red]--fractions {fractions!r}: each share must be in [0, 1][/red]")
        raise typer.Exit(2)
    try:
        main(model or get_settings().world_model, out, values, n=n, steps=steps)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@eval_app.command("world-model-bakeoff")
def eval_world_model_bakeoff(
    out_dir: Path = typer.Option(Path("runs/bakeoff"), "--runs", help="run folders"),
    out: Path = typer.Option(Path("eval/results/world_model_bakeoff.json"), "--out", "-o"),
    candidates: str = typer.Option(
        "default,attn16-grounded,attn16-grounded-b16", help="comma-separated candidate names"
    ),
    minutes: float = typer.Option(20.0, min=0.1, help="CPU minutes of training per candidate"),
    every: float = typer.Option(5.0, min=0.05, help="judge every this many CPU minutes"),
    latents: int = typer.Option(8000, min=8, help="training scenes in the shared latent cache"),
    n_single: int = typer.Option(48, min=1, help="single-object prompts per judgement"),
    n_grounded: int = typer.Option(16, min=1, help="grounded layouts per judgement"),
    vae: Path | None = typer.Option(None, help="finished VAE (default: the shipped one)"),
) -> None:
    """World-model training recipes compared in equal CPU minutes (resumable): table, JSON, PNG."""
    from scenecraft.eval.world_model_bakeoff import main
    from scenecraft.settings import ASSETS

    try:
        main(
            out_dir,
            out,
            [c.strip() for c in candidates.split(",") if c.strip()],
            minutes,
            every,
            vae or ASSETS / "shapes-sd-vae",
            n_latents=latents,
            n_single=n_single,
            n_grounded=n_grounded,
        )
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@eval_app.command("vae")
def eval_vae(
    model: Path | None = typer.Option(
        None, help="VAE folder, or a pipeline folder (default: the shipped VAE)"
    ),
    n: int = typer.Option(200, min=1, help="validation scenes"),
    out: Path = typer.Option(Path("eval/results/vae.json"), "--out", "-o"),
) -> None:
    """The world model's VAE: reconstruction PSNR and detector agreement on validation scenes."""
    from scenecraft.eval.world_model import vae_main
    from scenecraft.settings import ASSETS

    vae_main(str(model or ASSETS / "shapes-sd-vae"), out, n)


@eval_app.command("slate")
def eval_slate(
    model: Path | None = typer.Option(None, help="checkpoint folder (default: settings)"),
    n: int = typer.Option(500, help="held-out scenes"),
    combos: int = typer.Option(200, help="unseen concept combinations to compose"),
    train_images: int = typer.Option(10000, help="training scenes the checkpoint saw"),
    out: Path | None = typer.Option(
        None,
        help="JSON report (default: eval/results/slate.json; _dvae and _val name the variants, "
        "so candidates never overwrite the shipped model's figures)",
    ),
    dvae_only: bool = typer.Option(
        False, help="measure the dVAE alone (MSE, judge read-back); for dVAE candidates"
    ),
    split: str = typer.Option("heldout", help="heldout | val (val: for choosing settings)"),
    slot_iters: int = typer.Option(0, min=0, help="slot iterations (0: the checkpoint's)"),
    candidates: int = typer.Option(
        1, min=1, max=64, help="slot sets decoded per composition, the best kept by self-read-back"
    ),
    decoder: str = typer.Option(
        "transformer", help="compositions' decoder: transformer | mixture (the auxiliary one)"
    ),
) -> None:
    """FG-ARI, reconstruction MSE and composition success of a SLATE checkpoint."""
    from scenecraft.eval.slate import main
    from scenecraft.settings import get_settings
    from scenecraft.slate.compose import DECODERS

    if split not in ("heldout", "val"):
        console.print(f"[red]--split must be heldout or val, not {split!r}[/red]")
        raise typer.Exit(2)
    if decoder not in DECODERS:
        console.print(f"[red]--decoder must be one of {', '.join(DECODERS)}, not {decoder!r}[/red]")
        raise typer.Exit(2)
    if out is None:
        suffix = ("_dvae" if dvae_only else "") + ("_val" if split == "val" else "")
        out = Path(f"eval/results/slate{suffix}.json")
    main(
        model or Path(get_settings().slate_model),
        n,
        combos,
        train_images,
        out,
        dvae_only,
        split,
        slot_iters,
        candidates,
        decoder,
    )


@train_app.command("slate")
def train_slate(
    out: Path = typer.Option(
        Path("runs/slate"), "--out", "-o", help="run folder (resumed if it exists)"
    ),
    preset: str = typer.Option("ship", help="config preset: ship | small | reference"),
    steps: int = typer.Option(
        20000, help="slot-attention + decoder steps after the dVAE (0: the dVAE only)"
    ),
    dvae_steps: int | None = typer.Option(None, help="dVAE steps (default: the tau schedule)"),
    train_images: int = typer.Option(10000, help="ShapesWorld training scenes"),
    images: Path | None = typer.Option(None, file_okay=False, help="train on this image folder"),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu", help="torch device"),
    checkpoint_every: float = typer.Option(300.0, help="seconds between checkpoints"),
    threads: int = typer.Option(0, help="torch CPU threads (0: torch's default)"),
    time_limit: float = typer.Option(0.0, help="stop after this many seconds (0: none)"),
    init_from: Path | None = typer.Option(
        None, help="continue a finished checkpoint in a new --out (fresh optimiser)"
    ),
    warm_start: Path | None = typer.Option(
        None,
        help="start the slot model from a finished checkpoint's (not its dVAE or token layers)",
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="override a config field of the preset: --set batch_size=64"
    ),
) -> None:
    """Train SLATE on ShapesWorld (or --images); checkpoints to --out, resumes from it."""
    import signal
    from dataclasses import asdict

    import torch

    from scenecraft.slate.config import PRESETS, SlateConfig
    from scenecraft.slate.train import TrainSpec, train

    if preset not in PRESETS:
        console.print(f"[red]--preset must be one of {', '.join(PRESETS)}[/red]")
        raise typer.Exit(2)
    fields = asdict(PRESETS[preset])
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep or key not in fields:
            console.print(f"[red]--set {item}: expected KEY=VALUE, KEY one of {', '.join(fields)}")
            raise typer.Exit(2)
        try:
            fields[key] = type(fields[key])(
                json.loads(value.lower() if value in ("True", "False") else value)
            )
        except (ValueError, TypeError):
            console.print(f"[red]--set {item}: {value!r} is not a {type(fields[key]).__name__}")
            raise typer.Exit(2) from None
    if threads > 0:
        torch.set_num_threads(threads)
    spec = TrainSpec(
        out=out,
        config=SlateConfig.from_dict(fields),
        time_limit_s=time_limit,
        init_from=init_from,
        warm_start=warm_start,
        steps=steps,
        dvae_steps=dvae_steps,
        train_images=train_images,
        images=images,
        seed=seed,
        device=device,
        checkpoint_every_s=checkpoint_every,
    )
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}")]
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def on_progress(p: JobProgress) -> None:
            if p.stage not in tasks:
                tasks[p.stage] = bar.add_task(p.stage, total=p.total, info="")
            info = " ".join(f"{k} {v:.4g}" for k, v in p.numbers.items())
            bar.update(tasks[p.stage], completed=p.step, total=p.total, info=info)
            if "val_ce" in p.numbers:
                console.print(f"{p.stage} step {p.step}: {info}")

        def stop(signum, frame) -> None:
            raise KeyboardInterrupt  # `kill PID` stops after a checkpoint, like Ctrl-C

        signal.signal(signal.SIGTERM, stop)
        try:
            summary = train(spec, on_progress)
        except ValueError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print(f"stopped; checkpoint saved in {out}: run the same command to resume")
            raise typer.Exit(130) from None
    print(json.dumps(summary))


@train_app.command("slate-library")
def train_slate_library(
    model: Path = typer.Option(..., exists=True, file_okay=False, help="SLATE checkpoint folder"),
    images: int = typer.Option(2000, min=1, help="first training scenes whose slots are kept"),
    clusters: int = typer.Option(256, min=1, help="k-means clusters"),
    seed: int = typer.Option(0),
) -> None:
    """Rebuild a checkpoint's concept library (concepts.json/.safetensors) in its folder, as
    `train slate` does at its end; for a checkpoint whose library predates the current code."""
    from scenecraft.slate.checkpoint import load_model
    from scenecraft.slate.concepts import build_library
    from scenecraft.slate.data import shapes_world

    slate = load_model(model)
    with console.status(f"rendering {images} training scenes and clustering their slots"):
        data = shapes_world("train", images, slate.cfg.image_size)
        library = build_library(slate, data, clusters, seed)
    library.save(model)
    names = library.concept_names()
    console.print(f"wrote the library of {len(names)} concepts to {model}")


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

    from scenecraft.errors import ScenecraftError
    from scenecraft.pipelines.artifacts import open_store
    from scenecraft.pipelines.registry import run_pipeline, validate
    from scenecraft.settings import get_settings

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


@eval_app.command("vectorize")
def eval_vectorize(
    n: int = typer.Option(50, help="held-out ShapesWorld scenes"),
    size: int = typer.Option(128, help="canvas side"),
    iters: int = typer.Option(200, help="optimisation steps per scene"),
    out: Path = typer.Option(Path("eval/results/vectorize.json")),
) -> None:
    """Mask-initialised SVG fits: PSNR, paths, SVG bytes and time per scene."""
    from scenecraft.eval.vectorize import main

    main(n=n, size=size, out=out, iters=iters)


@eval_app.command("sld")
def eval_sld(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    n: int = typer.Option(100, help="prompts per category"),
    steps: int = typer.Option(25, help="DDIM steps"),
    heldout_offset: int = typer.Option(0, help="seed offset of the fresh held-out set"),
    out: Path = typer.Option(Path("eval/results/sld.json")),
) -> None:
    """SLD on the LMD-style benchmark and a fresh held-out set: base, 1 round, 3 rounds."""
    from scenecraft.eval.sld import main
    from scenecraft.settings import get_settings

    main(model or get_settings().world_model, n, steps, heldout_offset, out)


@eval_app.command("sld-edit")
def eval_sld_edit(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    n: int = typer.Option(100, help="editing cases"),
    steps: int = typer.Option(25, help="DDIM steps"),
    out: Path = typer.Option(Path("eval/results/sld_edit.json")),
) -> None:
    """SLD editing on generated cases: the change happened and nothing else moved."""
    from scenecraft.eval.sld import main_edit
    from scenecraft.settings import get_settings

    main_edit(model or get_settings().world_model, n, steps, out)


@eval_app.command("svgcraft")
def eval_svgcraft(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    oracle: bool = typer.Option(False, help="exact ShapesWorld rasters: the raster -> SVG half"),
    vae: str = typer.Option("", help="with --oracle: pass the rasters through this VAE folder"),
    n: int = typer.Option(25, help="prompts per LMD category"),
    split: str = typer.Option("benchmark", help="benchmark | heldout"),
    offset: int = typer.Option(0, help="held-out offset: a new one gives a fresh set"),
    steps: int = typer.Option(25, help="DDIM steps"),
    iters: int = typer.Option(200, help="SVG optimisation steps"),
    paths: int = typer.Option(32, help="primitive budget"),
    primitive: str = typer.Option("contour", help="contour | circles | rects | blobs"),
    out: Path = typer.Option(Path("eval/results/svgcraft.json")),
) -> None:
    """SVGCraft vs no-layout and no-attention-fusion ablations; every SVG render judged."""
    from scenecraft.eval.svgcraft import main
    from scenecraft.settings import get_settings

    params = {"steps": steps, "iters": iters, "paths": paths, "primitive": primitive}
    model = None if oracle else model or get_settings().world_model
    main(model, n, split, offset, out, params, vae or None)


@eval_app.command("sheets")
def eval_sheets(
    system: str = typer.Argument(..., help="sld | svgcraft"),
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    out: Path = typer.Option(None, help="PNG (default: eval/results/sheet_SYSTEM.png)"),
) -> None:
    """Eight fixed prompts, every stage of each job as a picture, each final one judged."""
    from scenecraft.eval.sheets import SYSTEMS, main
    from scenecraft.settings import get_settings

    if system not in SYSTEMS:
        raise typer.BadParameter(f"expected one of {', '.join(SYSTEMS)}", param_hint="SYSTEM")
    out = out or Path(f"eval/results/sheet_{system}.png")
    main(system, model or get_settings().world_model, out)


if __name__ == "__main__":
    app()
