"""``--set KEY=VALUE`` settings over a config's fields, typed by the field's current value."""

from __future__ import annotations

import json
from typing import Any


def parse_setting(item: str, current: dict[str, Any]) -> tuple[str, Any]:
    """One ``KEY=VALUE`` item as (field, value): VALUE is JSON (``unet_channels=[32,64,64]``,
    ``p_plain=0.1``; a bare word is a string) of the type of the field's value in ``current``
    (a tuple takes a list of its element type, a float an int too, a bool only true/false).
    Raises ``ValueError`` naming the setting that is wrong."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or key not in current:
        names = ", ".join(sorted(current))
        raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY one of {names}")
    was = current[key]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word: a string
    if isinstance(was, tuple):
        ok = isinstance(value, list) and all(type(v) is type(was[0]) for v in value)
        value = tuple(value) if ok else None
    elif isinstance(was, bool):
        value = value if isinstance(value, bool) else None
    elif isinstance(was, float) and type(value) in (int, float):
        value = float(value)
    elif type(value) is not type(was):
        value = None
    if value is None:
        raise ValueError(f"--set {item!r}: {key} takes a {type(was).__name__}")
    return key, value
