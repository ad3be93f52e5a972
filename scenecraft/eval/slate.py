"""``scenecraft eval slate``: FG-ARI and reconstruction error of a SLATE checkpoint on held-out
ShapesWorld scenes (64x64, 2-5 objects), and composition of concept combinations that no training
image holds, judged by the ShapesWorld detector. Writes JSON and a PNG grid."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from scenecraft.core.errors import InvalidParams
from scenecraft.eval.common import print_table, write_json
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.judge import judge
from scenecraft.shapesworld.scene import sample_scene, split_seed
from scenecraft.slate.checkpoint import load_model
from scenecraft.slate.compose import compose, concepts_spec, decode_slots
from scenecraft.slate.concepts import BACKGROUND, MIXED, ConceptLibrary, label_slots
from scenecraft.slate.data import shapes_world, to_tensor, to_uint8
from scenecraft.slate.dvae import perplexity
from scenecraft.slate.metrics import fg_ari
from scenecraft.slate.model import Slate
from scenecraft.slate.viz import mask_image, segmentation

EVAL_SEED = 0


def _overlap(a: list[str], b: list[str]) -> int:
    """How many items of ``a`` are in ``b``, counting repeats (a multiset intersection)."""
    return sum((Counter(a) & Counter(b)).values())


@torch.no_grad()
def scenes(model: Slate, n: int, batch: int = 50, offset: int = 0, split: str = "heldout") -> dict:
    """FG-ARI of slot masks and per-pixel MSE of the SLATE and dVAE reconstructions."""
    data = shapes_world(split, n, model.cfg.image_size, min_objects=2, offset=offset)
    g = torch.Generator().manual_seed(EVAL_SEED)
    aris, mse, mse_dvae, grid_rows = [], [], [], []
    read = Counter()  # objects of the originals, and those the detector reads back from the dVAE
    read_slate = Counter()  # ... and from the image the decoder redraws from the slots
    read_mix = Counter()  # ... and from the mixture decoder's image of the same slots
    slots, labels = [], []  # object slots and what the detector sees in their regions
    for i in range(0, n, batch):
        image = to_tensor(data.images[i : i + batch])
        out = model.reconstruct(image, g)
        masks = out["masks"].numpy()  # [B, K, H, W]
        found = [detect(img) for img in data.images[i : i + batch]]  # once per original
        for img, m, sl, dets in zip(
            data.images[i : i + batch], masks, out["slots"], found, strict=True
        ):
            for k, (label, *_) in enumerate(label_slots(img, m, dets)):
                if label not in (BACKGROUND, MIXED):
                    slots.append(sl[k].numpy())
                    labels.append(label)
        aris += [fg_ari(t, m) for t, m in zip(data.masks[i : i + batch], masks, strict=True)]
        mse += ((out["recon"] - image) ** 2).mean((1, 2, 3)).tolist()
        mse_dvae += ((out["dvae"] - image) ** 2).mean((1, 2, 3)).tolist()
        _read_back(found, to_uint8(out["dvae"]), read)
        _read_back(found, to_uint8(out["recon"]), read_slate)
        if model.mixture is not None:
            _read_back(found, decode_slots(model, out["slots"], "mixture"), read_mix)
        if not grid_rows:
            grid_rows = _scene_rows(data.images[:8], masks[:8], out)
    return {
        "fg_ari": float(np.mean(aris)),
        "fg_ari_per_scene": [round(a, 4) for a in aris],
        "mse": float(np.mean(mse)),
        "mse_dvae": float(np.mean(mse_dvae)),
        # the ceiling of composition: how much of an image the judge still reads after the dVAE
        "dvae_read_back": _read_back_rates(read),
        # per object, what composition can hope for: the whole chain, slots to decoded image
        "slate_read_back": _read_back_rates(read_slate),
        "mixture_read_back": _read_back_rates(read_mix) if read_mix else None,
        "grid": grid_rows,
        "object_slots": (np.stack(slots) if slots else np.zeros((0, model.cfg.slot_size)), labels),
    }


def slot_probe(library: ConceptLibrary, slots: np.ndarray, labels: list[str]) -> dict | None:
    """How much of its object's colour and shape a slot holds: logistic regressions fitted on
    the library's object slots (training images) and scored on held-out object ``slots`` [M, D],
    both labelled by the detector. Decoding can only draw what the slot holds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lib_labels = np.array(library.labels)
    keep = (lib_labels != BACKGROUND) & (lib_labels != MIXED)
    if keep.sum() < 2 or not len(labels):
        return None
    x_train = library.slots.numpy()[keep]
    out: dict = {"objects": len(labels)}
    for name, part in (("colour", 0), ("shape", -1)):
        y_train = [lab.split()[part] for lab in lib_labels[keep]]
        y_test = [lab.split()[part] for lab in labels]
        if len(set(y_train)) < 2:
            out[name] = None
            continue
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(x_train, y_train)
        out[name] = round(float(probe.score(slots, y_test)), 3)
    # the most common shape's share: what a probe that ignores the slot would score
    shapes = Counter(lab.split()[-1] for lab in labels)
    out["shape_chance"] = round(max(shapes.values()) / len(labels), 3)
    return out


def _read_back(originals: list[list], decoded: np.ndarray, read: Counter) -> None:
    """Count the objects the detector found in each original (``originals``: its detections per
    image) and how many of them (by colour and shape, and by shape alone) it finds again in
    ``decoded`` ([B, H, W, 3] uint8)."""
    for dets, rec in zip(originals, decoded, strict=True):
        want = [d.label for d in dets]
        got = [d.label for d in detect(rec)]
        found = Counter(want) & Counter(got)  # read again with colour and shape
        read["objects"] += len(want)
        read["label"] += found.total()
        read["shape"] += _overlap([w.split()[-1] for w in want], [w.split()[-1] for w in got])
        # per shape: which ones the dVAE loses (corners go first)
        read.update(f"objects:{w.split()[-1]}" for w in want)
        read.update(f"label:{w.split()[-1]}" for w in found.elements())


def _read_back_rates(read: Counter) -> dict:
    shapes = sorted(k.split(":")[1] for k in read if k.startswith("objects:"))
    return {
        "objects": read["objects"],
        "label": read["label"] / max(read["objects"], 1),
        "shape": read["shape"] / max(read["objects"], 1),
        # colour+shape read-back of the objects of each shape
        "per_shape": {s: read[f"label:{s}"] / read[f"objects:{s}"] for s in shapes},
    }


@torch.no_grad()
def dvae_scenes(
    model: Slate, n: int, batch: int = 50, offset: int = 0, split: str = "heldout"
) -> dict:
    """The dVAE alone (no slots): its reconstruction MSE and what the judge reads back from it.

    Cheap (no autoregressive decoding), so dVAE candidates can be compared before a slot model
    is trained on their tokens (``train slate --steps 0``).
    """
    data = shapes_world(split, n, model.cfg.image_size, min_objects=2, offset=offset)
    mse, read, tokens = [], Counter(), []
    for i in range(0, n, batch):
        image = to_tensor(data.images[i : i + batch])
        tokens.append(model.dvae.tokens(image))
        rec = model.dvae.decode_tokens(tokens[-1]).clamp(0, 1)
        mse += ((rec - image) ** 2).mean((1, 2, 3)).tolist()
        _read_back([detect(img) for img in data.images[i : i + batch]], to_uint8(rec), read)
    return {
        "mse_dvae": float(np.mean(mse)),
        "dvae_read_back": _read_back_rates(read),
        "codebook_perplexity": perplexity(torch.cat(tokens), model.cfg.vocab_size),
    }


def _scene_rows(images: np.ndarray, masks: np.ndarray, out: dict) -> list[np.ndarray]:
    # one row per scene: image | segmentation | each slot's mask | dVAE | SLATE reconstruction
    dvae, recon = to_uint8(out["dvae"][: len(images)]), to_uint8(out["recon"][: len(images)])
    rows = []
    for j, img in enumerate(images):
        slots = [mask_image(m) for m in masks[j]]
        rows.append(np.concatenate([img, segmentation(masks[j]), *slots, dvae[j], recon[j]], 1))
    return rows


def unseen_combinations(
    names: list[str],
    train_images: int,
    n: int,
    size: int = 3,
    seed: int = EVAL_SEED,
    split: str = "heldout",
) -> list[tuple[str, ...]]:
    """``n`` sets of ``size`` concepts that no training scene holds all of, in a seeded order:
    the held-out ones from its start, the ``val`` ones (for choosing settings) from its end."""
    seen: set[frozenset[str]] = set()
    for i in range(train_images):
        labels = {o.label for o in sample_scene(split_seed("train", i)).objects}
        seen.update(frozenset(c) for c in itertools.combinations(sorted(labels), size))
    combos = [c for c in itertools.combinations(sorted(names), size) if frozenset(c) not in seen]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(combos))
    order = order[:n] if split == "heldout" else order[::-1][: min(n, len(order) - n)]
    return [combos[i] for i in order]


def compositions(
    model: Slate,
    library: ConceptLibrary,
    combos: list[tuple[str, ...]],
    candidates: int = 1,
    decoder: str = "transformer",
) -> tuple[dict, list[np.ndarray]]:
    """Compose each combination (the best of ``candidates`` by the model's own read-back),
    decode it, and ask the judge for every requested object of the chosen image."""
    rng = np.random.default_rng(EVAL_SEED)
    g = torch.Generator().manual_seed(EVAL_SEED)
    ok, images, unplaced, read_ok = [], [], [], []
    for combo in combos:
        try:
            done = compose(model, library, list(combo), rng, candidates, g, decoder)
        except InvalidParams:  # every slot of some concept sits where another's must: a failure
            ok.append(False)
            unplaced.append(list(combo))
            continue
        ok.append(judge(detect(done.image), concepts_spec(list(combo))).ok)
        read_ok.append(done.scores[done.chosen] == len(combo))
        images.append(done.image)
    report = {
        "n": len(combos),
        "candidates": candidates,
        "decoder": decoder,
        "judge_ok": float(np.mean(ok)) if ok else None,
        # how often the chosen candidate read back as exactly the request to the model itself
        "self_read_ok": float(np.mean(read_ok)) if candidates > 1 and read_ok else None,
        # slots carry their position: a rare concept's few library slots may all collide
        "unplaced": unplaced,
        "examples": [
            {"concepts": list(c), "ok": bool(k)} for c, k in zip(combos[:20], ok, strict=False)
        ],
    }
    return report, images


def library_redrawn(library: ConceptLibrary) -> float | None:
    """Of the library's object slots, the fraction whose object the detector reads again, with
    the same colour and shape, in the image the model redraws from that image's own slots: what
    composition can hope for per object (None for a library that did not record it)."""
    if library.decoded is None:
        return None
    labels, decoded = np.array(library.labels), np.array(library.decoded)
    objects = (labels != BACKGROUND) & (labels != MIXED)
    return float((decoded[objects] == labels[objects]).mean()) if objects.any() else None


def save_grid(path: Path, rows: list[np.ndarray], composed: list[np.ndarray], scale: int = 3):
    """Scene rows on top, then up to two rows of compositions, upscaled for viewing."""
    side, width = rows[0].shape[0], rows[0].shape[1]
    per_row = width // side
    blank = np.full((side, side, 3), 255, np.uint8)
    for i in range(0, min(len(composed), 2 * per_row), per_row):
        chunk = composed[i : i + per_row]
        rows.append(np.concatenate(chunk + [blank] * (per_row - len(chunk)), 1))
    grid = np.concatenate(rows, 0)  # [rows * side, per_row * side, 3]
    big = Image.fromarray(grid).resize(
        (grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    big.save(path)


def main(
    model_dir: Path,
    n: int = 500,
    combos: int = 200,
    train_images: int = 10000,
    out: Path = Path("eval/results/slate.json"),
    dvae_only: bool = False,
    split: str = "heldout",
    slot_iters: int = 0,
    candidates: int = 1,
    decoder: str = "transformer",
) -> dict:
    """``split`` "val" is for choosing settings (e.g. ``slot_iters``, which overrides the
    checkpoint's inference iterations) without looking at the held-out scenes."""
    torch.manual_seed(EVAL_SEED)
    model = load_model(model_dir)
    if slot_iters > 0:
        model.slot_attn.iters_eval = slot_iters
    if dvae_only:
        return dvae_main(model, model_dir, n, out, split)
    library = ConceptLibrary.load(model_dir)
    t0 = time.perf_counter()
    rec = scenes(model, n, split=split)
    t_scenes = time.perf_counter() - t0
    probe = slot_probe(library, *rec.pop("object_slots"))
    wanted = unseen_combinations(library.concept_names(), train_images, combos, split=split)
    t0 = time.perf_counter()
    comp, composed = compositions(model, library, wanted, candidates, decoder)
    t_comp = time.perf_counter() - t0
    save_grid(out.with_suffix(".png"), rec.pop("grid"), composed)
    report = {
        "model": str(model_dir),
        "n_scenes": n,
        "split": split,
        "slot_iters": model.slot_attn.iters_eval,
        "scenes": {**rec, "seconds": round(t_scenes, 1)},
        "composition": {**comp, "seconds": round(t_comp, 1)},
        "library_redrawn": library_redrawn(library),
        "slot_probe": probe,
        "train_images": train_images,
    }
    print_table(
        f"SLATE on {n} {split} ShapesWorld scenes (64x64, 2-5 objects), "
        f"{model.slot_attn.iters_eval} slot iterations",
        ["metric", "value", "target"],
        [
            ["FG-ARI (slot attention masks)", rec["fg_ari"], ">= 0.90"],
            ["reconstruction MSE (SLATE, per pixel)", rec["mse"], "reported"],
            ["reconstruction MSE (dVAE only)", rec["mse_dvae"], "reported"],
            ["judge reads back from the dVAE: colour+shape", rec["dvae_read_back"]["label"], ""],
            ["judge reads back from the dVAE: shape", rec["dvae_read_back"]["shape"], ""],
            [
                "judge reads back from the SLATE reconstruction: colour+shape",
                rec["slate_read_back"]["label"],
                "",
            ],
            [
                "judge reads back from the mixture decoder's image: colour+shape",
                rec["mixture_read_back"]["label"] if rec["mixture_read_back"] else None,
                "",
            ],
            [
                "library object slots redrawn as themselves (from their own image's slots)",
                report["library_redrawn"],
                "",
            ],
            [
                "held-out object slots whose shape a linear probe reads (colour)",
                f"{probe['shape']} ({probe['colour']})" if probe else None,
                "",
            ],
            [
                f"composition: judge finds all ({comp['n']} unseen triples, "
                f"{decoder} decoder, best of {candidates} by the model's own read-back)",
                comp["judge_ok"],
                ">= 0.80",
            ],
        ],
    )
    write_json(out, report)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return report


def dvae_main(model: Slate, model_dir: Path, n: int, out: Path, split: str) -> dict:
    t0 = time.perf_counter()
    rec = dvae_scenes(model, n, split=split)
    report = {
        "model": str(model_dir),
        "n_scenes": n,
        "split": split,
        "dvae_only": True,
        "config": json.loads(model.cfg.to_json()),
        "scenes": {**rec, "seconds": round(time.perf_counter() - t0, 1)},
    }
    read = rec["dvae_read_back"]
    print_table(
        f"SLATE dVAE alone on {n} {split} ShapesWorld scenes (64x64, 2-5 objects)",
        ["metric", "value"],
        [
            ["reconstruction MSE (dVAE only)", rec["mse_dvae"]],
            ["judge reads back from the dVAE: colour+shape", read["label"]],
            ["judge reads back from the dVAE: shape", read["shape"]],
            [f"codebook perplexity (of {model.cfg.vocab_size} tokens)", rec["codebook_perplexity"]],
            *[[f"  read back: {s}s", v] for s, v in read["per_shape"].items()],
        ],
    )
    write_json(out, report)
    print(f"wrote {out}")
    return report
