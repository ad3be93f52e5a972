"""Plain-data contracts passed between stages (parser, planner, detector, editor).

Boxes are ``[x, y, w, h]`` in [0, 1] with a top-left origin everywhere; convert at the edges only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

Box = list[float]
RelationName = Literal["left of", "right of", "above", "below", "next to", "between"]
# where on the canvas an object stands when the prompt says so ("a star in the top left corner")
PlaceName = Literal[
    "left",
    "right",
    "top",
    "bottom",
    "centre",
    "top left",
    "top right",
    "bottom left",
    "bottom right",
]


def check_box(box: list[float]) -> list[float]:
    """Validate a box: four finite numbers, inside the unit square, positive size."""
    if len(box) != 4:
        raise ValueError(f"a box is [x, y, w, h]; got {len(box)} numbers")
    x, y, w, h = (float(v) for v in box)
    if not all(np.isfinite([x, y, w, h])):
        raise ValueError("box values must be finite")
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive, got w={w}, h={h}")
    eps = 1e-6
    if x < -eps or y < -eps or x + w > 1 + eps or y + h > 1 + eps:
        raise ValueError(f"box {box} leaves the unit square")
    return [x, y, w, h]


class ObjectSpec(BaseModel):
    """One kind of object a prompt asks for: ``3 x "star" with ["red", "small"]``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="noun, e.g. 'star' or 'dog'")
    count: int = Field(1, ge=0, le=20)
    attributes: list[str] = Field(default_factory=list, description="e.g. ['red', 'small']")
    place: PlaceName | None = Field(
        None, description="where on the canvas every one of them stands, if the prompt says"
    )

    @property
    def phrase(self) -> str:
        return " ".join([*self.attributes, self.name])


class RelationSpec(BaseModel):
    """``subject`` is ``relation`` ``object`` (indices into SceneSpec.objects)."""

    model_config = ConfigDict(extra="forbid")

    subject: int = Field(ge=0)
    relation: RelationName
    object: int = Field(ge=0)
    object2: int | None = Field(None, ge=0, description="second reference, for 'between' only")


class SceneSpec(BaseModel):
    """What a prompt asks for (parser output)."""

    model_config = ConfigDict(extra="forbid")

    objects: list[ObjectSpec] = Field(default_factory=list)
    relations: list[RelationSpec] = Field(default_factory=list)
    negations: list[ObjectSpec] = Field(
        default_factory=list, description="objects that must NOT appear (count ignored)"
    )
    background: str | None = None
    warnings: list[str] = Field(
        default_factory=list, description="what the parser ignored or assumed, for the record"
    )


class LayoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, description="caption of one object, e.g. 'red circle #1'")
    box: Box

    @field_validator("box")
    @classmethod
    def _box(cls, v: list[float]) -> list[float]:
        return check_box(v)

    @property
    def phrase(self) -> str:
        """The label without its instance suffix ('red circle #1' -> 'red circle')."""
        return self.label.split("#")[0].strip()


class Layout(BaseModel):
    """Planner output: boxes with captions, plus background and negative prompt."""

    model_config = ConfigDict(extra="forbid")

    items: list[LayoutItem] = Field(default_factory=list)
    background: str = ""
    negative_prompt: str = ""
    warnings: list[str] = Field(
        default_factory=list, description="the parse's warnings, carried to the record"
    )


@dataclass
class Detection:
    """One object found in an image. ``mask`` is an HxW bool array at the image's size."""

    label: str
    box: Box
    score: float
    mask: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "box": [round(v, 4) for v in self.box], "score": self.score}


EditKind = Literal["add", "delete", "move", "recolor"]


class EditOp(BaseModel):
    """One typed edit from the deterministic diff of detected vs target layout."""

    model_config = ConfigDict(extra="forbid")

    op: EditKind
    label: str
    old_box: Box | None = None
    new_box: Box | None = None
    new_label: str | None = Field(None, description="target label of a recolor/attribute op")
