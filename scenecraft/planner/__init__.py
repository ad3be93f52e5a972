"""The planner: parse a prompt, lay it out, correct a layout from detections, edit a layout.

``get_planner()`` gives the configured one: the offline planner (the default, deterministic)
or any OpenAI-compatible LLM (``SCENECRAFT_PLANNER=openai``).
"""

from scenecraft.planner.base import PLANNERS, Planner, get_planner

__all__ = ["PLANNERS", "Planner", "get_planner"]
