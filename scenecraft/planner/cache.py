"""On-disk cache of LLM planner replies, keyed by (model, template version, prompt).

Each entry is one small JSON file naming its model, template and prompt next to the validated
reply, so runs are reproducible and a job can carry the plans it used (as SLD's demo files do):
copy the files into another cache folder and the same requests are answered from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scenecraft" / "llm"


class ResponseCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, model: str, template: str, prompt: str) -> Path:
        key = hashlib.sha256(json.dumps([model, template, prompt]).encode()).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def get(self, model: str, template: str, prompt: str) -> Any | None:
        """The cached reply, or None (also for a damaged or mismatching file)."""
        path = self.path(model, template, prompt)
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if [entry.get("model"), entry.get("template"), entry.get("prompt")] != [
            model,
            template,
            prompt,
        ]:
            return None
        return entry.get("response")

    def put(self, model: str, template: str, prompt: str, response: Any) -> Path:
        path = self.path(model, template, prompt)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"model": model, "template": template, "prompt": prompt, "response": response}
        # write then rename, so a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(entry, f, indent=1)
        os.replace(tmp, path)
        return path
