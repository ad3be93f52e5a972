"""The offline planner: deterministic, no network, the default (GPT-4's role in SLD/SVGCraft)."""

from __future__ import annotations

from scenecraft.core.contracts import Box, Detection, Layout, SceneSpec
from scenecraft.core.errors import PlannerError
from scenecraft.planner.correct import correct_layout
from scenecraft.planner.edit import edit_layout
from scenecraft.planner.layout import plan_layout
from scenecraft.shapesworld.prompts import parse_prompt


class OfflinePlanner:
    name = "offline"

    def parse(self, prompt: str) -> SceneSpec:
        return parse_prompt(prompt)

    def layout(self, prompt: str, size: tuple[int, int] = (512, 512)) -> Layout:
        spec = self.parse(prompt)
        if not spec.objects:
            why = f" ({'; '.join(spec.warnings)})" if spec.warnings else ""
            raise PlannerError(f"found no objects to draw in {prompt!r}{why}")
        return plan_layout(spec, size)

    def correct(
        self,
        prompt: str,
        spec: SceneSpec,
        detections: list[Detection],
        obstacles: list[Box] | None = None,
    ) -> Layout:
        return correct_layout(spec, detections, obstacles)

    def edit(self, instruction: str, detections: list[Detection]) -> Layout:
        return edit_layout(instruction, detections)
