"""SLD (Wu et al., 2024) as one object: ``SLDPipeline(diffusion, detector, segmenter, planner)``.

``__call__`` is the paper's method: parse -> generate -> per round detect -> assess -> plan ->
diff -> latent ops -> final denoise, for up to ``config.rounds`` rounds; ``edit`` is the same
rounds with the planner's ``edit`` in place of its ``correct``. Each stage is a method.

Every component is passed in: any diffusers backend, any detector and segmenter, any planner.
Beyond the reference: the models are loaded once and kept warm, any image size the VAE divides
works, and the pixels no op touched are blended back from the input image after decoding, so a
correction cannot degrade what was already right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scenecraft.core.contracts import (
    Box,
    Detection,
    EditOp,
    Layout,
    LayoutItem,
    ObjectSpec,
    SceneSpec,
)
from scenecraft.core.fill import fill_from_around
from scenecraft.core.geometry import box_iou
from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.models.detect import Detector
from scenecraft.models.diffusion import (
    DiffusionModel,
    FrozenLatents,
    Grounding,
    decode,
    encode,
    invert,
    noised,
    sample,
)
from scenecraft.models.segment import Segmenter
from scenecraft.planner.base import Planner
from scenecraft.planner.geometry import label_matches, layout_problems
from scenecraft.sld.diff import layout_diff
from scenecraft.sld.latent_ops import (
    LatentCanvas,
    box_cells,
    delete,
    latent_mask,
    move,
    place_pixels,
    start_latents,
    transplant,
)
from scenecraft.sld.occupancy import unexplained_boxes


@dataclass
class SLDConfig:
    steps: int = 25  # DDIM steps of generation, inversion and the final denoise
    guidance: float = 3.0
    rounds: int = 3
    freeze_fraction: float = 0.5  # share of final-denoise steps the composed latents are held
    grounding_fraction: float = 0.3  # share of steps with GLIGEN boxes on (GLIGEN models only)
    dilate: int = 1  # latent cells added around every object mask
    add_attempts: int = 3  # seeds tried to generate an added object the detector recognises
    # an attempt whose object the detector scores this is taken at once; else the best-scored of
    # all attempts (the first found was taken before 2026-12-08: a lumpy star it passed at 0.6
    # was pasted, and read as a square after the round)
    add_clear: float = 0.85
    # share of an add attempt's steps after which it is dropped if the detector finds no such
    # object in the predicted clean image (0: every attempt runs to the end). Off: on the shipped
    # model the prediction is too blurred to read before about 60% of the steps, and there the
    # check drops a quarter of the attempts that would have ended right (bench/sld_add_check.py)
    add_check_fraction: float = 0.0
    preserve_unedited: bool = True  # blend untouched pixels back from the round's input
    # objects no op names keep their pixels, and their boxes keep the input's pixels around them,
    # even where an op's region (a dilated mask, a vacated place, the feathered blend) reaches
    # over them: the denoise cannot grow a kept object or draw a stray shape against it
    protect_kept: bool = True
    # a moved, resized or added object keeps the pixels it was checked with (the input's, or its
    # generation's), and the final denoise only fills the places objects left (held everywhere
    # else to the end). Off: the paper's way, where the final denoise redraws every pasted object
    # from its latents (on the shipped model: 6 of 12 fresh edits right, 12 of 12 with it)
    paste_objects: bool = True
    # with paste_objects: share of the final denoise's steps that redraw the vacated places,
    # which start from a classical fill of the input there (1: from pure noise, where the shipped
    # model drew the prompt's objects again into the holes)
    fill_strength: float = 0.5
    # added and moved objects kept clear of what the image holds that the detector was not
    # asked about (``scenecraft.sld.occupancy``), and a wider gap from the rest where there is
    # room. Off: the planner sees only the detections and keeps 0.01 of the canvas from them
    clear_of_unknown: bool = True


@dataclass
class Round:
    index: int
    detections: list[Detection]
    problems: list[str]
    target: Layout | None = None
    ops: list[EditOp] = field(default_factory=list)
    image: np.ndarray | None = None  # the round's output (None when it changed nothing)
    skipped: list[str] = field(default_factory=list)  # ops that could not be carried out

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.index,
            "detections": [d.to_dict() for d in self.detections],
            "problems": self.problems,
            "proposed": None if self.target is None else self.target.model_dump()["items"],
            "ops": [o.model_dump() for o in self.ops],
            "skipped": self.skipped,
        }


@dataclass
class SLDOutput:
    """What one call made: the image it started from (generated or given) and every round."""

    initial: np.ndarray  # [H, W, 3] uint8
    rounds: list[Round]
    spec: SceneSpec | None = None  # what the image was corrected against (None for an edit)

    @property
    def image(self) -> np.ndarray:
        """The final image: the last round's output, or the initial image if no round drew one."""
        return next((r.image for r in reversed(self.rounds) if r.image is not None), self.initial)


class _NotForming(Exception):
    """An added object's attempt shows no such object partway: stop paying for its steps."""


def _noop(progress: Progress) -> None:
    return None


def phrases_of(spec: SceneSpec) -> list[str]:
    """Detector queries for a spec: every requested and every negated object."""
    return list(dict.fromkeys(o.phrase for o in [*spec.objects, *spec.negations]))


def unfinished(
    ops: list[EditOp], first: list[EditOp], target: Layout, done_iou: float = 0.7
) -> list[EditOp]:
    """An edit's later round: only the ops that finish what the first round's ops set out to do.

    The target is planned once, so an object the instruction leaves alone keeps its detected box
    there; if a later detection of it differs a little (its rim, a neighbour drawn close), the
    diff would move or redraw it. Ops on such objects are dropped, and so are deletions of
    whatever sits in their place. So is a move of an object already at its target (box IoU >=
    ``done_iou``): it was moved, and moving it again by a rim's width only blurs it."""
    acted = {tuple(o.new_box) for o in first if o.new_box is not None}
    left_alone = [it.box for it in target.items if tuple(it.box) not in acted]

    def wanted(op: EditOp) -> bool:
        if op.op == "move" and box_iou(op.old_box, op.new_box) >= done_iou:
            return False
        if op.new_box is not None:
            return tuple(op.new_box) in acted
        return not any(box_iou(op.old_box, b) >= 0.5 for b in left_alone)

    return [o for o in ops if wanted(o)]


def kept_mask(
    detections: list[Detection],
    ops: list[EditOp],
    masks: dict[tuple[float, ...], np.ndarray],
    margin: int = 1,
) -> np.ndarray | None:
    """Pixels the input keeps whatever the ops did (None when no detected object is left alone):
    each object no op names and its box grown by ``margin`` pixels, less the pixels of the named
    objects (their old places are the ops' to redraw). ``masks`` by box, as
    ``SLDPipeline.object_masks`` gives them."""
    named = {tuple(o.old_box) for o in ops if o.old_box is not None}
    kept = [d for d in detections if tuple(d.box) not in named]
    if not kept:
        return None
    h, w = masks[tuple(kept[0].box)].shape
    keep = np.zeros((h, w), bool)
    for d in kept:
        y0, y1, x0, x1 = box_cells(d.box, (h, w))
        keep[max(y0 - margin, 0) : y1 + margin, max(x0 - margin, 0) : x1 + margin] = True
    for box in named:
        if box in masks:
            keep &= ~np.asarray(masks[box], bool)
    for d in kept:
        keep |= np.asarray(masks[tuple(d.box)], bool)
    return keep


def layout_prompt(layout: Layout) -> str:
    """A caption of a layout: its objects, then its background."""
    caption = ", ".join(f"a {it.phrase}" for it in layout.items)
    return f"{caption}, {layout.background}" if layout.background and caption else caption


def assess(spec: SceneSpec, detections: list[Detection]) -> list[str]:
    """What the detections get wrong against the spec (empty: the image passes)."""
    as_layout = Layout(items=[LayoutItem(label=d.label, box=d.box) for d in detections])
    return layout_problems(as_layout, spec, max_iou=1.0)


@dataclass
class SLDPipeline:
    """Self-correcting LLM-controlled diffusion on the components handed in."""

    diffusion: DiffusionModel
    detector: Detector
    segmenter: Segmenter
    planner: Planner
    config: SLDConfig = field(default_factory=SLDConfig)

    def __call__(
        self,
        prompt: str,
        image: np.ndarray | None = None,
        *,
        spec: SceneSpec | None = None,
        size: tuple[int, int] | None = None,
        generator: torch.Generator,
        progress: ProgressFn = _noop,
    ) -> SLDOutput:
        """Generate an image for ``prompt`` and correct it until it shows what the prompt asks.

        Args:
            prompt: what the image must show.
            image: an [H, W, 3] uint8 image to correct instead of generating one.
            spec: the prompt as objects, counts, relations and negations (default: the planner's
                parse of ``prompt``).
            size: (width, height) of a generated image (default: the model's native square).
            generator: every random draw (base image, added objects, re-noised latents).
            progress: gets stages ``parse``, ``generate`` and ``round r: detect / invert / ops /
                denoise``.
        """
        if spec is None:
            progress(Progress("parse", 0, 0))
            spec = self.planner.parse(prompt)
        trajectory = None  # an image given is inverted; one generated here brings its trajectory
        if image is None:
            side = self.diffusion.default_size
            image, trajectory = self.generate(prompt, size or (side, side), generator, progress)
        rounds = self.correct(prompt, spec, image, generator, progress, trajectory)
        return SLDOutput(image, rounds, spec)

    def edit(
        self,
        instruction: str,
        image: np.ndarray,
        phrases: list[str],
        generator: torch.Generator,
        progress: ProgressFn = _noop,
    ) -> SLDOutput:
        """SLD's editing mode: the planner's ``edit`` of the detections in ``image`` (found by
        ``phrases``) gives the target layout, planned once; the rounds are the same."""
        rounds = self._rounds(
            None,
            phrases,
            image,
            generator,
            plan=lambda dets, image: self.planner.edit(instruction, dets),
            problems_of=None,
            replan=False,
            progress=progress,
        )
        return SLDOutput(image, rounds)

    def generate(
        self,
        prompt: str,
        size: tuple[int, int],
        generator: torch.Generator,
        progress: ProgressFn = _noop,
    ) -> tuple[np.ndarray, list[torch.Tensor]]:
        """The base image (plain text-to-image, no layout: what SLD then corrects) and its latent
        trajectory, which the first round's latent ops start from instead of an inversion."""
        cfg = self.config
        out = sample(
            self.diffusion,
            prompt,
            width=size[0],
            height=size[1],
            steps=cfg.steps,
            guidance=cfg.guidance,
            generator=generator,
            progress=lambda p: progress(replace(p, stage="generate")),
            keep_trajectory=True,
        )
        return out.images[0], out.trajectory

    def correct(
        self,
        prompt: str,
        spec: SceneSpec,
        image: np.ndarray,
        generator: torch.Generator,
        progress: ProgressFn = _noop,
        trajectory: list[torch.Tensor] | None = None,
    ) -> list[Round]:
        """SLD's correction: repair ``image`` until it satisfies ``spec`` (or rounds run out);
        ``trajectory`` is ``generate``'s, where the image came from there."""
        return self._rounds(
            prompt,
            phrases_of(spec),
            image,
            generator,
            plan=lambda dets, image: self.planner.correct(
                prompt, spec, dets, self.obstacles(image, dets)
            ),
            problems_of=lambda dets: assess(spec, dets),
            progress=progress,
            trajectory=trajectory,
        )

    def obstacles(self, image: np.ndarray, detections: list[Detection]) -> list[Box] | None:
        """Boxes of what ``image`` holds besides ``detections``, for the planner to keep added
        and moved objects clear of (None with ``clear_of_unknown`` off)."""
        if not self.config.clear_of_unknown:
            return None
        return unexplained_boxes(image, detections)

    def problems(self, spec: SceneSpec, image: np.ndarray) -> list[str]:
        """What the in-loop detector finds wrong with ``image`` against ``spec``."""
        return assess(spec, self.detector(image, phrases_of(spec)))

    def _rounds(
        self,
        prompt: str | None,
        phrases: list[str],
        image: np.ndarray,
        generator: torch.Generator,
        plan: Callable[[list[Detection], np.ndarray], Layout],
        problems_of: Callable[[list[Detection]], list[str]] | None,
        replan: bool = True,
        progress: ProgressFn = _noop,
        trajectory: list[torch.Tensor] | None = None,
    ) -> list[Round]:
        """Detect -> assess -> plan -> diff -> ops -> denoise, at most ``config.rounds`` times.

        Correction (``replan``): each round asks ``problems_of`` (stop when empty) and re-plans
        from the new detections. Editing (``replan=False``, no ``problems_of``): the plan is made
        once and later rounds only redo what the diff against that same target still finds, so an
        instruction is never applied twice. The loop also stops when the diff finds nothing to do.
        ``trajectory``: the image's latent trajectory where it was generated here (else inverted).
        ``prompt``: the final denoise's (None: the target layout's objects, as an edit wants: the
        image after the edit, not before).
        """
        rounds: list[Round] = []
        current = image
        target: Layout | None = None
        for r in range(1, self.config.rounds + 1):
            progress(Progress(f"round {r}: detect", 0, 1))
            dets = self.detector(current, phrases)
            rnd = Round(r, dets, problems_of(dets) if problems_of is not None else [])
            rounds.append(rnd)
            if problems_of is not None and not rnd.problems:
                break
            if target is None or replan:
                target = plan(dets, current)
            rnd.target = target
            rnd.ops = layout_diff(dets, target)
            if not replan and len(rounds) > 1:
                rnd.ops = unfinished(rnd.ops, rounds[0].ops, target)
            if not rnd.ops:
                break

            def staged(p: Progress, r: int = r) -> None:
                progress(replace(p, stage=f"round {r}: {p.stage}"))

            masks = self.object_masks(current, dets)  # one segmenter call a round
            canvas, rnd.skipped = self.apply_ops(
                current, dets, rnd.ops, generator, staged, trajectory, masks
            )
            if len(rnd.skipped) == len(rnd.ops):
                # nothing changed: a denoise would only hand the same pixels back; the next
                # round tries again from the same (possibly just inverted) trajectory
                trajectory = canvas.trajectory
                continue
            keep = kept_mask(dets, rnd.ops, masks) if self.config.protect_kept else None
            current, trajectory = self.denoise(
                prompt if prompt is not None else layout_prompt(target),
                canvas,
                target,
                current,
                generator,
                staged,
                keep=keep,
            )
            rnd.image = current
        return rounds

    def apply_ops(
        self,
        image: np.ndarray,
        detections: list[Detection],
        ops: list[EditOp],
        generator: torch.Generator,
        progress: ProgressFn = _noop,
        trajectory: list[torch.Tensor] | None = None,
        masks: dict[tuple[float, ...], np.ndarray] | None = None,
    ) -> tuple[LatentCanvas, list[str]]:
        """Carry out every op on the image's latent trajectory: ``trajectory`` where the image was
        generated here (the latent before every step; exact, and one pass cheaper), else a DDIM
        inversion of the image (the paper's way, about 25 dB from the image on the shipped model).
        ``masks``: ``object_masks(image, detections)`` where the caller has it.
        """
        cfg = self.config
        h, w = image.shape[:2]
        if trajectory is None or len(trajectory) != cfg.steps:
            trajectory = invert(
                self.diffusion,
                image,
                "",
                steps=cfg.steps,
                progress=progress,
            ).for_sampling()
        canvas = LatentCanvas.from_trajectory(trajectory)
        before = [z.clone() for z in canvas.trajectory]  # what moved objects are read from
        lsize = canvas.size
        if masks is None:
            old_boxes = [o.old_box for o in ops if o.old_box is not None]
            masks = dict(
                zip(map(tuple, old_boxes), self._masks(image, detections, old_boxes), strict=True)
            )
        skipped: list[str] = []
        # deletions first, so a moved or added object may land where a deleted one was
        order = {"delete": 0, "recolor": 1, "move": 2, "add": 3}
        for k, op in enumerate(sorted(ops, key=lambda o: order[o.op])):
            progress(Progress("ops", k, len(ops)))
            if op.op in ("delete", "recolor", "move"):
                canvas.vacate(masks[tuple(op.old_box)])
            if op.op in ("delete", "recolor"):
                delete(canvas, latent_mask(masks[tuple(op.old_box)], lsize, cfg.dilate))
            if op.op == "move":
                m = latent_mask(masks[tuple(op.old_box)], lsize, cfg.dilate)
                move(canvas, m, op.old_box, op.new_box, source=before)
                if cfg.paste_objects:
                    canvas.patches.append(
                        place_pixels(
                            image, masks[tuple(op.old_box)], op.old_box, op.new_box, (h, w)
                        )
                    )
            if op.op in ("add", "recolor"):
                phrase = op.new_label if op.op == "recolor" else op.label
                made = self.generate_object(phrase, op.new_box, (w, h), generator)
                if made is None:
                    skipped.append(
                        f"{op.op} {phrase}: the model did not draw one the detector finds"
                    )
                    continue
                traj, mask, drawn_box, drawn = made
                transplant(
                    canvas, traj, latent_mask(mask, lsize, cfg.dilate), drawn_box, op.new_box
                )
                if cfg.paste_objects:
                    canvas.patches.append(place_pixels(drawn, mask, drawn_box, op.new_box, (h, w)))
        return canvas, skipped

    def generate_object(
        self,
        phrase: str,
        box: list[float],
        size: tuple[int, int],
        generator: torch.Generator,
    ) -> tuple[list[torch.Tensor], np.ndarray, list[float], np.ndarray] | None:
        """Generate ``phrase`` alone (grounded in ``box`` when the model can) and find it.

        Returns (trajectory, pixel mask, where it was drawn, the image) of the first attempt whose
        object scores ``add_clear``, else of the best-scored one, or None when no attempt
        produced an object the detector recognises as ``phrase``. The trajectory is the
        generation's own (the latent before every step), not an inversion of its image: exact,
        and one pass cheaper than the paper's generate-then-invert.
        """
        cfg = self.config
        grounding = (
            Grounding([phrase], [box], cfg.grounding_fraction)
            if self.diffusion.can_ground
            else None
        )
        *attrs, noun = phrase.split()
        want = ObjectSpec(name=noun, attributes=attrs)

        def found_in(img: np.ndarray) -> list[Detection]:
            return [d for d in self.detector(img, [phrase]) if label_matches(d.label, want)]

        check_at = int(cfg.add_check_fraction * cfg.steps)

        def peek(step: int, x0: torch.Tensor) -> None:
            if step == check_at and not found_in(decode(self.diffusion, x0)[0]):
                raise _NotForming

        chosen: tuple[Detection, list[torch.Tensor], np.ndarray] | None = None
        for _ in range(cfg.add_attempts):
            try:
                out = sample(
                    self.diffusion,
                    f"a {phrase}",
                    width=size[0],
                    height=size[1],
                    steps=cfg.steps,
                    guidance=cfg.guidance,
                    generator=generator,
                    grounding=grounding,
                    keep_trajectory=True,
                    peek=peek if 0 < check_at < cfg.steps else None,
                )
            except _NotForming:
                continue
            img = out.images[0]
            found = found_in(img)
            if not found:
                continue
            best = max(found, key=lambda d: d.score)
            if chosen is None or best.score > chosen[0].score:
                chosen = (best, out.trajectory, img)
            if best.score >= cfg.add_clear:
                break
        if chosen is None:
            return None
        best, trajectory, img = chosen
        mask = self._masks(img, [best], [best.box])[0]
        return trajectory, mask, best.box, img

    def denoise(
        self,
        prompt: str,
        canvas: LatentCanvas,
        target: Layout,
        original: np.ndarray,
        generator: torch.Generator,
        progress: ProgressFn = _noop,
        keep: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[torch.Tensor]]:
        """The final denoise of the composed latents, grounded on the target boxes: held for the
        first part (the paper), or, with ``paste_objects``, held to the end everywhere but the
        vacated places, which start part way from a fill, the pasted objects laid over the
        result. Returns the image and the denoise's trajectory (where the next round starts).
        ``keep``: an [H, W] mask of pixels taken from ``original`` whatever the ops did (with
        ``preserve_unedited``)."""
        cfg = self.config
        h, w = original.shape[:2]
        # with pasted objects the denoise only fills the vacated places: everything else is held
        # to the end, and an object that is pasted is not grounded (the model would draw it again
        # into the holes around it)
        paste = cfg.paste_objects and cfg.preserve_unedited
        pasted = {tuple(p.box) for p in canvas.patches} if paste else set()
        items = [it for it in target.items if tuple(it.box) not in pasted]
        grounding = None
        if self.diffusion.can_ground and items:
            grounding = Grounding(
                [it.phrase for it in items], [it.box for it in items], cfg.grounding_fraction
            )
        held = 1 - canvas.free
        latents = start_latents(canvas, generator)
        if not paste:
            freeze = FrozenLatents(held, canvas.trajectory, int(cfg.freeze_fraction * cfg.steps))
        else:
            freeze = FrozenLatents(held, canvas.trajectory, cfg.steps)  # held to the end
            start = round((1 - cfg.fill_strength) * cfg.steps)
            if canvas.vacated is not None and start > 0:
                # the holes start part way, from a classical fill of the input with the pasted
                # objects laid over it: the model refines a plausible background instead of
                # drawing, from pure noise, whatever the prompt names into them. Every cell an op
                # touched starts from that fill, so the latents around a pasted object agree with
                # its pixels (a transplant snaps to whole latent cells: up to a cell off, a ghost)
                fill = noised(
                    self.diffusion, self.filled(original, canvas, keep), cfg.steps, generator
                )
                touched = canvas.edited
                values = [
                    touched * f + (1 - touched) * z
                    for f, z in zip(fill, canvas.trajectory, strict=True)
                ]
                everywhere = torch.ones_like(held)
                freeze = FrozenLatents(everywhere, values, start, hold=held)
        result = sample(
            self.diffusion,
            prompt,
            negative_prompt=target.negative_prompt,
            width=w,
            height=h,
            steps=cfg.steps,
            guidance=cfg.guidance,
            latents=latents,
            grounding=grounding,
            freeze=freeze,
            progress=progress,
            keep_trajectory=True,
        )
        out, trajectory = result.images[0], result.trajectory
        blended = out.astype(np.float32)
        if cfg.preserve_unedited:
            if cfg.paste_objects:  # the denoise fills the vacated places; patches do the rest
                changed = torch.zeros(1, 1, h, w)
                if canvas.vacated is not None:
                    changed = torch.from_numpy(canvas.vacated.astype(np.float32))[None, None]
                    changed = F.max_pool2d(changed, 5, stride=1, padding=2)  # the object's rim
                m = F.avg_pool2d(changed, 3, stride=1, padding=1)
            else:  # the paper's blend: the denoise wherever an op acted
                changed = torch.maximum(canvas.edited, canvas.free)
                m = F.interpolate(changed, size=(h, w), mode="bilinear", align_corners=False)
                m = F.avg_pool2d(m, 5, stride=1, padding=2)  # fading over about one latent cell
            m = m.clamp(0, 1)[0, 0, :, :, None].cpu().numpy()
            if keep is not None:
                m = m * (1 - keep[:, :, None].astype(np.float32))
            blended = m * blended + (1 - m) * original.astype(np.float32)
        for patch in canvas.patches:  # objects as they were checked, over what the denoise drew
            blended = patch.over(blended)
        # the pixels blended back were held to this trajectory for the first part of the denoise,
        # so it stays a close start for the next round's ops (closer than inverting the blend)
        return blended.round().clip(0, 255).astype(np.uint8), trajectory

    def filled(
        self, image: np.ndarray, canvas: LatentCanvas, keep: np.ndarray | None = None
    ) -> torch.Tensor:
        """Latents of ``image`` with its vacated places (and their rim) filled by biharmonic
        inpainting from the pixels around them, the pasted objects laid over: where the final
        denoise's holes start from (``SLDConfig.fill_strength``)."""
        from scipy.ndimage import binary_dilation

        hole = binary_dilation(canvas.vacated, iterations=2)
        if keep is not None:
            hole &= ~keep
        pixels = fill_from_around(image, hole)
        for patch in canvas.patches:
            pixels = patch.over(pixels)
        return encode(self.diffusion, pixels.round().clip(0, 255).astype(np.uint8)[None])

    def object_masks(
        self, image: np.ndarray, detections: list[Detection]
    ) -> dict[tuple[float, ...], np.ndarray]:
        """Every detected object's pixel mask, by its box."""
        boxes = [d.box for d in detections]
        return dict(zip(map(tuple, boxes), self._masks(image, detections, boxes), strict=True))

    def _masks(
        self, image: np.ndarray, detections: list[Detection], boxes: list[list[float]]
    ) -> list[np.ndarray]:
        """Pixel masks for boxes: the detector's own mask when it gave one, else the
        segmenter's."""
        by_box = {tuple(d.box): d.mask for d in detections}
        need = [b for b in boxes if by_box.get(tuple(b)) is None]
        seg = dict(zip(map(tuple, need), self.segmenter(image, need), strict=True)) if need else {}
        return [
            by_box.get(tuple(b)) if by_box.get(tuple(b)) is not None else seg[tuple(b)]
            for b in boxes
        ]
