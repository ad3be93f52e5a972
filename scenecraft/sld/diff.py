"""The deterministic layout diff of SLD: detected objects vs the target layout -> typed edit ops.

The LLM (or offline planner) only proposes the target layout; which operations follow from it is
decided here, so the same pair of layouts always yields the same edits:

1. same phrase and box IoU >= ``keep_iou``: unchanged;
2. same noun, different attributes, box IoU >= ``keep_iou``: ``recolor`` (attribute change);
3. same phrase elsewhere: ``move`` (nearest target first);
4. detected objects left over: ``delete``; target objects left over: ``add``.
"""

from __future__ import annotations

from scenecraft.core.contracts import Detection, EditOp, Layout, LayoutItem
from scenecraft.core.geometry import box_iou


def _phrase(label: str) -> str:
    return label.split("#")[0].strip()


def _noun(label: str) -> str:
    return _phrase(label).split(" ")[-1]


def _centre_dist(a: list[float], b: list[float]) -> float:
    return (
        (a[0] + a[2] / 2 - b[0] - b[2] / 2) ** 2 + (a[1] + a[3] / 2 - b[1] - b[3] / 2) ** 2
    ) ** 0.5


def layout_diff(detected: list[Detection], target: Layout, keep_iou: float = 0.9) -> list[EditOp]:
    """Edit ops that turn the detected objects into the target layout (unchanged ones omitted)."""
    dets = list(range(len(detected)))
    items: list[LayoutItem] = list(target.items)
    todo = list(range(len(items)))
    ops: list[EditOp] = []

    def pair(cond) -> list[tuple[int, int]]:
        cands = sorted(
            ((score, d, t) for d in dets for t in todo if (score := cond(detected[d], items[t]))),
            key=lambda x: -x[0],
        )
        out = []
        for _, d, t in cands:
            if d in dets and t in todo:
                dets.remove(d)
                todo.remove(t)
                out.append((d, t))
        return out

    def same_place(det: Detection, item: LayoutItem, same_phrase: bool) -> float:
        if (_phrase(det.label) == item.phrase) != same_phrase or _noun(det.label) != _noun(
            item.label
        ):
            return 0.0
        iou = box_iou(det.box, item.box)
        return iou if iou >= keep_iou else 0.0

    pair(lambda d, t: same_place(d, t, True))
    for d, t in pair(lambda d, t: same_place(d, t, False)):
        ops.append(
            EditOp(
                op="recolor",
                label=detected[d].label,
                old_box=detected[d].box,
                new_box=items[t].box,
                new_label=items[t].phrase,
            )
        )
    for d, t in pair(
        lambda d, t: 2.0 - _centre_dist(d.box, t.box) if _phrase(d.label) == t.phrase else 0.0
    ):
        ops.append(
            EditOp(
                op="move", label=detected[d].label, old_box=detected[d].box, new_box=items[t].box
            )
        )
    ops += [EditOp(op="delete", label=detected[d].label, old_box=detected[d].box) for d in dets]
    ops += [EditOp(op="add", label=items[t].phrase, new_box=items[t].box) for t in todo]
    return ops
