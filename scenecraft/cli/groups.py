"""The Typer apps every command module registers on, and the console they print to (stderr)."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The scenecraft command line: render batches in-process, judge images, run benchmarks.",
)
eval_app = typer.Typer(no_args_is_help=True, help="Benchmarks: print a table, write JSON.")
app.add_typer(eval_app, name="eval")
plan_app = typer.Typer(no_args_is_help=True, help="Show what the planner makes of a prompt.")
app.add_typer(plan_app, name="plan")
train_app = typer.Typer(no_args_is_help=True, help="Train the embedded models.")
app.add_typer(train_app, name="train")
console = Console(stderr=True)
