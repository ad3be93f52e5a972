"""The ``scenecraft`` command line: one module per command group, all on one Typer ``app``.

``render`` (jobs in this process), ``plan``, ``service`` (serve, worker, submit), ``train`` and
``evals``; ``groups`` holds the apps and the console they share.
"""

from scenecraft.cli import evals, plan, render, service, train  # noqa: F401  (registers commands)
from scenecraft.cli.groups import app

__all__ = ["app"]
