"""``eval ...``: the benchmarks; each prints a table and writes JSON under ``eval/results``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from scenecraft.cli.groups import console, eval_app

if TYPE_CHECKING:
    pass


@eval_app.command("detector")
def eval_detector(
    n: int = typer.Option(500, help="scenes"),
    size: int = typer.Option(128, help="canvas side"),
    out: Path = typer.Option(Path("eval/results/detector.json")),
) -> None:
    """Precision/recall/count accuracy of the ShapesWorld detector, clean and degraded."""
    from scenecraft.eval.detector import main

    main(n=n, size=size, out=out)


@eval_app.command("judge")
def eval_judge(
    out: Path = typer.Option(Path("eval/results/judge.json")),
) -> None:
    """The judge's shape names against a person's on generated images (eval/judge_labels)."""
    from scenecraft.eval.judge import main

    main(out=out)


@eval_app.command("planner")
def eval_planner(
    paraphrases: int = typer.Option(300, help="held-out paraphrases (a quarter per category)"),
    corrections: int = typer.Option(300, help="synthetic (spec, perturbed detections) pairs"),
    out: Path = typer.Option(Path("eval/results/planner.json")),
) -> None:
    """Offline planner: parse exact match, layouts that satisfy the spec, corrections."""
    from scenecraft.eval.planner import main

    main(n_paraphrases=paraphrases, n_corrections=corrections, out=out)


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
    draw: int = typer.Option(
        0,
        min=0,
        max=9,
        help="0: the card's set of seeds and layouts; 1-9: a fresh set (a recheck)",
    ),
) -> None:
    """Judge the diffusion world model: single objects, grounding, LMD prompts, inversion."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.world_model import main

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
        draw=draw,
    )


@eval_app.command("world-model-history")
def eval_world_model_history(
    model: Path | None = typer.Option(None, help="shipped model folder (default: the shipped one)"),
    out: Path = typer.Option(Path("eval/results/world_model_history.json"), "--out", "-o"),
) -> None:
    """The shipped world model's accuracy at the end of every session, shipped or not: table,
    JSON and PNG from its training record (no model is run)."""
    from scenecraft.core.settings import ASSETS
    from scenecraft.eval.world_model_history import main

    try:
        main(model or ASSETS / "shapes-sd", out)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e


@eval_app.command("world-model-fit")
def eval_world_model_fit(
    model: Path | None = typer.Option(
        None, help="exported model folder (default: the shipped one)"
    ),
    n: int = typer.Option(256, min=8, max=4096, help="scenes of each kind"),
    batch: int = typer.Option(32, min=1, max=256),
    out: Path = typer.Option(Path("eval/results/world_model_fit.json"), "--out", "-o"),
) -> None:
    """Training loss on the scenes the world model's latent cache held vs on unseen scenes of the
    same kind (same noise and timesteps): does it fit its cache more than the world?"""
    from scenecraft.core.settings import ASSETS
    from scenecraft.eval.world_model_fit import main

    main(model or ASSETS / "shapes-sd", out, n, batch)


@eval_app.command("layout-fraction")
def eval_layout_fraction(
    model: str = typer.Option("", "--model", help="diffusers folder (default: settings)"),
    out: Path = typer.Option(Path("eval/results/layout_fraction.json"), "--out", "-o"),
    fractions: str = typer.Option("0,0.3,0.5,1", help="shares of the steps, comma-separated"),
    n: int = typer.Option(24, min=1, help="single boxes, and scene layouts, per fraction"),
    steps: int = typer.Option(20, min=1, help="DDIM steps"),
    guidance: str = typer.Option("3", help="guidance scales, comma-separated"),
) -> None:
    """For how many steps a layout-map UNet gets its map, at which guidance scale (tuning
    layouts, not the eval's)."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.layout_fraction import main

    try:
        values = [float(f) for f in fractions.split(",")]
    except ValueError:
        console.print(f"[red]--fractions {fractions!r}: expected numbers such as 0,0.3,1[/red]")
        raise typer.Exit(2) from None
    if not values or any(not 0 <= v <= 1 for v in values):
        console.print(f"[red]--fractions {fractions!r}: each share must be in [0, 1][/red]")
        raise typer.Exit(2)
    try:
        scales = tuple(float(g) for g in guidance.split(","))
    except ValueError:
        console.print(f"[red]--guidance {guidance!r}: expected numbers such as 3,5,7.5[/red]")
        raise typer.Exit(2) from None
    if any(not 1 <= g <= 30 for g in scales):
        console.print(f"[red]--guidance {guidance!r}: each scale must be in [1, 30][/red]")
        raise typer.Exit(2)
    try:
        main(model or get_settings().world_model, out, values, n=n, steps=steps, guidances=scales)
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
    from scenecraft.core.settings import ASSETS
    from scenecraft.eval.world_model_bakeoff import main

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
    from scenecraft.core.settings import ASSETS
    from scenecraft.eval.world_model import vae_main

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
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.slate import main
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


_LMD = "negation,numeracy,attribute,spatial"
_CATEGORIES_HELP = "comma-separated prompt categories: LMD's four, and/or 'placement'"


def _categories(text: str) -> tuple[str, ...]:
    from scenecraft.shapesworld.benchmark import CATEGORIES, EXTRA_CATEGORIES

    chosen = tuple(c.strip() for c in text.split(",") if c.strip())
    known = (*CATEGORIES, *EXTRA_CATEGORIES)
    if not chosen or (unknown := [c for c in chosen if c not in known]):
        raise typer.BadParameter(
            f"unknown {', '.join(map(repr, unknown)) if chosen else 'nothing'}; choose from "
            + ", ".join(known),
            param_hint="--categories",
        )
    return chosen


@eval_app.command("sld")
def eval_sld(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    n: int = typer.Option(100, help="prompts per category"),
    steps: int = typer.Option(25, help="DDIM steps"),
    heldout_offset: int = typer.Option(0, help="seed offset of the fresh held-out set"),
    paper_denoise: bool = typer.Option(
        False, help="ablation: the paper's final denoise redraws moved and added objects"
    ),
    guidance: float = typer.Option(3.0, min=1.0, max=20.0, help="classifier-free guidance"),
    categories: str = typer.Option(_LMD, help=_CATEGORIES_HELP),
    out: Path = typer.Option(Path("eval/results/sld.json")),
    set_: list[str] = typer.Option(
        [],
        "--set",
        help="an SLDConfig field otherwise (JSON value), an ablation: --set clear_of_unknown=false",
    ),
) -> None:
    """SLD on the LMD-style benchmark and a fresh held-out set: base, 1 round, 3 rounds."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.sld import main
    from scenecraft.sld.pipeline import SLDConfig

    config = _config_overrides(
        SLDConfig(), set_, fixed=("steps", "rounds", "guidance", "paste_objects")
    )

    main(
        model or get_settings().world_model,
        n,
        steps,
        heldout_offset,
        out,
        paste_objects=not paper_denoise,
        guidance=guidance,
        categories=_categories(categories),
        config=config,
    )


def _config_overrides(default: object, items: list[str], fixed: tuple[str, ...] = ()) -> dict:
    """``--set KEY=VALUE`` items as {field: value} over the dataclass ``default``'s fields but
    ``fixed`` (``parse_setting``); a bad item exits with the message naming it."""
    from dataclasses import asdict

    from scenecraft.core.overrides import parse_setting

    fields = {k: v for k, v in asdict(default).items() if k not in fixed}
    try:
        return dict(parse_setting(item, fields) for item in items)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@eval_app.command("sld-edit")
def eval_sld_edit(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    n: int = typer.Option(100, help="editing cases"),
    steps: int = typer.Option(25, help="DDIM steps"),
    offset: int = typer.Option(0, help="first case seed: a new offset gives a fresh set"),
    out: Path = typer.Option(Path("eval/results/sld_edit.json")),
) -> None:
    """SLD editing on generated cases: the change happened and nothing else moved; each case
    also with the paper's final denoise (no pasted objects), in the same run."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.sld import main_edit

    main_edit(model or get_settings().world_model, n, steps, out, offset=offset)


@eval_app.command("svgcraft")
def eval_svgcraft(
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    oracle: bool = typer.Option(False, help="exact ShapesWorld rasters: the raster -> SVG half"),
    vae: str = typer.Option("", help="with --oracle: pass the rasters through this VAE folder"),
    n: int = typer.Option(25, help="prompts per LMD category"),
    split: str = typer.Option("benchmark", help="benchmark | heldout"),
    offset: int = typer.Option(0, help="held-out offset: a new one gives a fresh set"),
    # the job's params: unset ones take the svgcraft pipeline's defaults, and its bounds apply
    steps: int | None = typer.Option(None, help="DDIM steps"),
    iters: int | None = typer.Option(None, help="SVG optimisation steps"),
    paths: int | None = typer.Option(None, help="primitive budget"),
    primitive: str | None = typer.Option(None, help="contour | circles | rects | blobs"),
    attempts: int | None = typer.Option(None, help="seeds tried per object (1: the paper)"),
    guidance: float | None = typer.Option(None, help="classifier-free guidance"),
    out: Path = typer.Option(Path("eval/results/svgcraft.json")),
    variants: str = typer.Option(
        "", help="comma-separated subset of the variants (default: all), e.g. 'svgcraft,no layout'"
    ),
    categories: str = typer.Option(_LMD, help=_CATEGORIES_HELP),
) -> None:
    """SVGCraft vs its repair-free (the paper's), recognised-objects-held, lost-objects-redrawn,
    no-layout and no-attention-fusion variants; every SVG render judged."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.svgcraft import VARIANTS, main

    chosen = tuple(v.strip() for v in variants.split(",") if v.strip()) or tuple(VARIANTS)
    if unknown := [v for v in chosen if v not in VARIANTS]:
        raise typer.BadParameter(
            f"unknown {', '.join(map(repr, unknown))}; choose from {', '.join(VARIANTS)}",
            param_hint="--variants",
        )
    from scenecraft.core.errors import InvalidParams
    from scenecraft.pipelines.registry import validate

    given = {"steps": steps, "iters": iters, "paths": paths, "primitive": primitive}
    given |= {"attempts": attempts, "guidance": guidance}
    try:  # checked once, before any prompt runs; the JSON records every value used
        _, p = validate(
            "svgcraft", {"prompt": "a circle"} | {k: v for k, v in given.items() if v is not None}
        )
    except InvalidParams as e:
        raise typer.BadParameter(
            str(e), param_hint="--" + e.errors[0]["field"].split(".")[-1]
        ) from None
    params = {k: getattr(p, k) for k in given}
    model = None if oracle else model or get_settings().world_model
    main(model, n, split, offset, out, params, vae or None, chosen, _categories(categories))


@eval_app.command("sheets")
def eval_sheets(
    system: str = typer.Argument(..., help="sld | svgcraft"),
    model: str = typer.Option("", help="diffusers folder (default: settings.world_model)"),
    out: Path = typer.Option(None, help="PNG (default: eval/results/sheet_SYSTEM.png)"),
) -> None:
    """Eight fixed prompts, every stage of each job as a picture, each final one judged."""
    from scenecraft.core.settings import get_settings
    from scenecraft.eval.sheets import SYSTEMS, main

    if system not in SYSTEMS:
        raise typer.BadParameter(f"expected one of {', '.join(SYSTEMS)}", param_hint="SYSTEM")
    out = out or Path(f"eval/results/sheet_{system}.png")
    main(system, model or get_settings().world_model, out)
