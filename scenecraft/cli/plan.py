"""``plan parse`` and ``plan layout``: what the planner makes of a prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from scenecraft.cli.groups import console, plan_app

if TYPE_CHECKING:
    pass


def _run_planner(name: str, job):
    """Run ``job(planner)``; planner errors become a red message and exit status 1."""
    from scenecraft.core.errors import InvalidParams, PlannerError
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
    """Print the objects, counts, places, relations, negations and background a planner reads."""
    spec = _run_planner(planner, lambda p: p.parse(prompt))
    if as_json:
        print(spec.model_dump_json(indent=1))
        return
    from scenecraft.shapesworld.judge import place_phrase

    for i, o in enumerate(spec.objects):
        where = f" {place_phrase(o.place)}" if o.place else ""
        print(f"[{i}] {o.count} x {o.phrase}{where}")
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
