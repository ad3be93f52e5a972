"""``train ...``: training the embedded models (world model, SLATE, its concept library)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from scenecraft.cli.groups import console, train_app

if TYPE_CHECKING:
    from scenecraft.core.progress import Progress as JobProgress


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
    from dataclasses import replace

    from scenecraft.training.world_model import PRESETS, train

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
    recheck: tuple[Path, Path] | None = typer.Option(
        None,
        "--recheck",
        help="CANDIDATE.json SHIPPED.json: both judged on one fresh draw (eval world-model "
        "--draw N); each scored by its mean over the card's draw and this one",
    ),
    shipped_report: Path | None = typer.Option(
        None,
        "--shipped-report",
        help="the shipped model judged again on the card's draw (eval world-model, draw 0), "
        "when the judge changed since its row: compared instead of the row's own report",
    ),
) -> None:
    """Ship a run's model (fp16) if it measures better than the shipped one; card + history."""
    from scenecraft.core.settings import ASSETS
    from scenecraft.training.ship import ship

    try:
        ship(
            run,
            report,
            to or ASSETS / "shapes-sd",
            label or run.name,
            force=force,
            recheck=recheck,
            shipped_report=shipped_report,
        )
    except (FileNotFoundError, ValueError, KeyError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


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
