"""``python -m scenecraft.cli``."""

from scenecraft.cli import app

app()
