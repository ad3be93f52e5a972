"""Versioned prompt templates of the LLM planner, kept as files in ``templates/``.

A template file ``<task>.v<N>.txt`` holds chat turns, each starting with a ``### system``,
``### user`` or ``### assistant`` line: the system rules, few-shot examples (user/assistant
pairs, in the spirit of LMD and SLD), and a last user turn with ``$name`` placeholders. The
newest version of a task is used; its version string (with a hash of the text, so an edited
file never reuses stale cached replies) is part of the response cache key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).parent / "templates"
_TURN = re.compile(r"^### (system|user|assistant)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    task: str
    version: str  # e.g. "layout.v1-3f9a0c12"
    turns: tuple[tuple[str, str], ...]  # (role, text); the last is the user turn to fill

    def messages(self, **values: object) -> list[dict[str, str]]:
        """Chat messages with the placeholders of every turn filled from ``values``."""
        return [
            {"role": role, "content": Template(text).substitute(values)}
            for role, text in self.turns
        ]


@cache
def load_template(task: str) -> PromptTemplate:
    """The newest version of a task's template (``parse``, ``layout``, ``correct``, ``edit``)."""
    files = sorted(
        TEMPLATE_DIR.glob(f"{task}.v*.txt"), key=lambda p: int(p.stem.rsplit(".v", 1)[1])
    )
    if not files:
        raise FileNotFoundError(f"no template for {task!r} in {TEMPLATE_DIR}")
    path = files[-1]
    text = path.read_text()
    parts = _TURN.split(text)[1:]  # [role, text, role, text, ...]
    turns = tuple((role, body.strip()) for role, body in zip(parts[::2], parts[1::2], strict=True))
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return PromptTemplate(task, f"{path.stem}-{digest}", turns)
