"""Helpers every benchmark shares: writing the JSON and printing the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[_cell(v) for v in r])
    Console().print(table)


def _cell(v: Any) -> str:
    """Floats to three decimals, or three significant digits below 0.1 (an MSE of 0.00267)."""
    if not isinstance(v, float):
        return str(v)
    return f"{v:.3g}" if 0 < abs(v) < 0.1 else f"{v:.3f}"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path
