"""The Planner protocol every planner implements, and the factory that picks one from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from scenecraft.core.contracts import Box, Detection, Layout, SceneSpec
from scenecraft.core.errors import InvalidParams
from scenecraft.core.settings import Settings, get_settings

PLANNERS = ("offline", "openai")


@runtime_checkable
class Planner(Protocol):
    """The four jobs the LLM does in SLD and SVGCraft. Boxes are [x, y, w, h] in [0, 1]."""

    name: str

    def parse(self, prompt: str) -> SceneSpec:
        """Objects, counts, attributes, relations, negations and background of a prompt."""
        ...

    def layout(self, prompt: str, size: tuple[int, int] = (512, 512)) -> Layout:
        """A box per object for a (width, height) canvas (LMD's layout step)."""
        ...

    def correct(
        self,
        prompt: str,
        spec: SceneSpec,
        detections: list[Detection],
        obstacles: list[Box] | None = None,
    ) -> Layout:
        """The layout that repairs what a detector found into what the prompt asks (SLD).
        ``obstacles``: boxes of what else the image holds, which added or moved objects should
        keep clear of (a planner may ignore them)."""
        ...

    def edit(self, instruction: str, detections: list[Detection]) -> Layout:
        """The layout after an editing instruction is applied to the detections (SLD)."""
        ...


def get_planner(
    name: str | None = None,
    cache_dir: Path | None = None,
    fallback: bool = False,
    settings: Settings | None = None,
) -> Planner:
    """The planner called ``name`` (default: ``settings.planner``, itself 'offline'), configured
    from ``settings`` (default: the process's).

    For 'openai' the endpoint, model, key, timeout and retries come from ``SCENECRAFT_LLM_*``;
    replies are cached under ``cache_dir`` (default ``~/.cache/scenecraft/llm``), and with
    ``fallback`` a failed request is answered by the offline planner (logged) instead of raising.
    """
    from scenecraft.planner.offline import OfflinePlanner

    settings = settings or get_settings()
    name = name or settings.planner
    if name == "offline":
        return OfflinePlanner()
    if name == "openai":
        from scenecraft.planner.cache import default_cache_dir
        from scenecraft.planner.llm import OpenAIPlanner

        return OpenAIPlanner.from_settings(
            settings, cache_dir or default_cache_dir(), OfflinePlanner() if fallback else None
        )
    raise InvalidParams.single("planner", f"unknown planner {name!r}; use {' or '.join(PLANNERS)}")
