"""Fit a vector scene to a target image: Adam on points, stroke widths and colours through the
differentiable rasteriser, with opacity modulation, learning-rate decay and pruning.

Learning rates follow diffvg's painterly app (points 1.0 px, widths 0.1, colours 0.01) and decay
with a cosine to 10 % by the last step, which is what lets edges settle to sub-pixel accuracy.

Opacity modulation, what and why: each group's fill/stroke alpha is a learned value in [0, 1]
times a schedule m(t) that rises linearly from ``start`` to 1 over the first ``ramp`` fraction of
the iterations. Early on every primitive is see-through, so primitives that overlap (a grid,
random blobs) all see the target through each other and all get gradients, where an opaque one
on top would hide the rest; as m(t) reaches 1 they become as opaque as their learned alpha, so
flat regions end solid and only primitives the fit wants translucent stay so. (A cap that the
learned alpha must climb after, at the colour learning rate, was tried first: alphas lagged the
cap and fits ended translucent and worse.) SVGCraft's scripts fix alpha at 0.3 for the whole run,
which leaves the result translucent: that is ``OpacityModulation(start=0.3, ramp=math.inf)``.
``None`` holds every alpha at its initial value, which suits a start that already has one opaque
path per object (masks).

Early stopping, what and why: a start read from the image (masks, regions) is close already and
needs far fewer steps than a grid or random blobs. With ``Plateau`` the learning rates are not
decayed on a fixed cosine over ``iters``: they are halved whenever the loss has not improved for
``patience`` steps, and the fit stops when they would fall under ``min_scale`` of their start,
which gives edges the same small final steps to settle in, after as many steps as they need.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from scenecraft.core.errors import Cancelled, InvalidParams
from scenecraft.core.progress import Progress, ProgressFn
from scenecraft.vector.losses import Loss, make_loss
from scenecraft.vector.raster import group_visibility, render_torch
from scenecraft.vector.render import png_over_white, render
from scenecraft.vector.scene import LinearGradient, Scene


@dataclass(frozen=True)
class OpacityModulation:
    start: float = 0.3  # opacity multiplier at step 0
    ramp: float = 0.6  # fraction of the iterations over which it rises to 1

    def scale(self, step: int, total: int) -> float:
        if self.ramp <= 0:
            return 1.0
        return min(1.0, self.start + (1 - self.start) * step / (self.ramp * total))


@dataclass(frozen=True)
class Plateau:
    patience: int = 5  # steps without improvement before the learning rates are halved
    rel_tol: float = 0.02  # an improvement is a loss below (1 - rel_tol) x the best so far
    min_scale: float = 0.1  # stop when the learning rates would fall under this x their start

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise InvalidParams.single("patience", f"must be >= 1, not {self.patience}")


@dataclass
class FitResult:
    scene: Scene
    losses: list[float] = field(default_factory=list)
    pruned: int = 0

    @property
    def iterations(self) -> int:
        """Steps taken (fewer than asked when early stopping ended the fit)."""
        return len(self.losses)


def _preview(scene: Scene) -> bytes:
    """The scene as it is drawn now, over white, as a PNG."""
    with torch.no_grad():
        return png_over_white(render(scene))


def _copy(scene: Scene) -> Scene:
    """A deep copy whose float tensors are fresh leaves (the caller's scene is left alone); a
    tensor that several shapes share (one stroke width for a group's lines) stays shared."""
    out = copy.deepcopy(scene)
    extra = [out.background] if isinstance(out.background, LinearGradient) else []
    if isinstance(out.background, Tensor):
        out.background = out.background.detach().clone().float()
    fresh: dict[int, Tensor] = {}
    for obj in [*out.shapes, *out.shape_groups, *extra]:
        for name, value in vars(obj).items():
            if isinstance(value, Tensor) and value.is_floating_point():
                if id(value) not in fresh:
                    fresh[id(value)] = value.detach().clone().float()
                setattr(obj, name, fresh[id(value)])
    return out


def _param_groups(scene: Scene, lr_points: float, lr_width: float, lr_color: float):
    stroked = {sid for g in scene.shape_groups if g.stroke_color is not None for sid in g.shape_ids}
    points, widths, radii = [], [], []
    for sid, shape in enumerate(scene.shapes):
        for name, value in vars(shape).items():
            if not (isinstance(value, Tensor) and value.is_floating_point()):
                continue
            if name == "stroke_width":
                if sid in stroked and not any(value is w for w in widths):
                    widths.append(value)
            else:
                points.append(value)
                if name == "radius":
                    radii.append(value)
    paints = [
        (g, name)
        for g in scene.shape_groups
        for name in ("fill_color", "stroke_color")
        if getattr(g, name) is not None
    ]
    colors = [getattr(g, name) for g, name in paints]
    background = []  # colours learned too; alpha stays (the canvas is as opaque as it was)
    if isinstance(scene.background, LinearGradient):
        background.append(scene.background.stop_colors)
    elif scene.background is not None:
        background.append(scene.background)
    groups = [
        {"params": points, "lr": lr_points},
        {"params": widths, "lr": lr_width},
        {"params": colors + background, "lr": lr_color},
    ]
    for group in groups:
        for p in group["params"]:
            p.requires_grad_(True)
    return [g for g in groups if g["params"]], widths, paints, colors, background, radii


def _prune(scene: Scene, min_visible_px: float) -> tuple[Scene, int]:
    """Drop groups that show fewer than ``min_visible_px`` pixels (transparent, tiny or hidden)."""
    visible = group_visibility(scene, scene.canvas_width, scene.canvas_height)
    keep = [
        g for g, v in zip(scene.shape_groups, visible.tolist(), strict=True) if v >= min_visible_px
    ]
    used = sorted({sid for g in keep for sid in g.shape_ids})
    remap = {old: new for new, old in enumerate(used)}
    for g in keep:
        g.shape_ids = [remap[s] for s in g.shape_ids]
    pruned = len(scene.shape_groups) - len(keep)
    return Scene(
        scene.canvas_width,
        scene.canvas_height,
        [scene.shapes[s] for s in used],
        keep,
        scene.background,
    ), pruned


def fit(
    target: Tensor,
    init: Scene,
    iters: int = 200,
    loss: str | Loss = "l2",
    opacity_modulation: OpacityModulation | None = OpacityModulation(),  # noqa: B008
    *,
    lr_points: float = 1.0,
    lr_width: float = 0.1,
    lr_color: float = 0.01,
    max_stroke_width: float = 32.0,
    min_visible_px: float = 0.5,
    plateau: Plateau | None = None,
    progress: ProgressFn | None = None,
    preview_every: int = 0,
    cancelled: Callable[[], bool] | None = None,
) -> FitResult:
    """Optimise a copy of ``init`` so that its render matches ``target`` [H, W, 3] in [0, 1].

    The render is at the target's size. ``progress`` is called after every step (stage ``fit``),
    with a PNG preview of the scene every ``preview_every`` steps and at the last (0: never);
    ``cancelled()`` is polled before every step and stops the fit with ``Cancelled``.
    ``plateau`` replaces the cosine decay with halving on plateaus and stops early (see above).
    Returns the fitted scene (pruned of groups showing < ``min_visible_px`` pixels) and losses.
    """
    if target.ndim != 3 or target.shape[-1] != 3 or not target.is_floating_point():
        raise InvalidParams.single("target", f"must be a float [H, W, 3] image, not {target.shape}")
    if not torch.isfinite(target).all():
        raise InvalidParams.single("target", "contains NaN or infinite values")
    if iters < 0:
        raise InvalidParams.single("iters", f"must be >= 0, not {iters}")
    height, width = target.shape[:2]
    init.validate()
    loss_fn = make_loss(loss) if isinstance(loss, str) else loss
    scene = _copy(init)
    groups, widths, paints, colors, background, radii = _param_groups(
        scene, lr_points, lr_width, lr_color
    )
    optimiser = torch.optim.Adam(groups) if groups else None
    base_lrs = [g["lr"] for g in groups]
    target = target.float()
    result = FitResult(scene)
    initial_alpha = [c[3].item() for c in colors]
    background_alpha = [b[..., 3].clone() for b in background]
    scale, best, since = 1.0, math.inf, 0  # plateau schedule: lr scale, best loss, its step

    def modulate(step: int) -> None:
        """Point the scene's colours at (learned colour) x (1, 1, 1, m(step))."""
        m = opacity_modulation.scale(step, iters) if opacity_modulation else 1.0
        for (g, name), c in zip(paints, colors, strict=True):
            setattr(g, name, c * c.new_tensor([1.0, 1.0, 1.0, m]) if m != 1.0 else c)

    for step in range(iters):
        if cancelled is not None and cancelled():
            raise Cancelled(f"fit cancelled at step {step} of {iters}")
        modulate(step)
        image = render_torch(scene, width, height)  # [H, W, 4] straight RGBA
        rgb = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])  # over white if see-through
        value = loss_fn(rgb, target)
        # a plateau while opacities still ramp up is the schedule's doing, not convergence
        ramping = opacity_modulation is not None and opacity_modulation.scale(step, iters) < 1
        if plateau is not None and not ramping:
            if value.item() < best * (1 - plateau.rel_tol):
                best, since = value.item(), step
            elif step - since >= plateau.patience:
                scale, since = scale / 2, step
                if scale < plateau.min_scale:
                    break
        if optimiser is not None:
            if plateau is not None:
                decay = scale
            else:
                decay = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(iters - 1, 1)))
            for g, lr in zip(optimiser.param_groups, base_lrs, strict=True):
                g["lr"] = lr * decay
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
        with torch.no_grad():
            for c, alpha in zip(colors, initial_alpha, strict=True):
                c.clamp_(0, 1)
                if opacity_modulation is None:
                    c[3] = alpha
            for w in widths:
                w.clamp_(0.5, max_stroke_width)
            for b, alpha in zip(background, background_alpha, strict=True):
                b.clamp_(0, 1)
                b[..., 3] = alpha
            for r in radii:  # a negative radius would draw a (mirrored) circle again
                r.clamp_(min=0)
        result.losses.append(value.item())
        if progress is not None:
            done = step + 1
            draw = preview_every and (done % preview_every == 0 or done == iters)
            progress(Progress("fit", done, iters, _preview(scene) if draw else None))
    for p in [p for g in groups for p in g["params"]]:
        p.requires_grad_(False)
    with torch.no_grad():
        modulate(iters)
    result.scene, result.pruned = _prune(scene, min_visible_px)
    return result
