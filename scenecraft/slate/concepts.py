"""The concept library: slots of training images, clustered and named by what the judge sees.

Every slot of a sample of training images is kept with what the ShapesWorld detector finds in
that slot's mask region ("red circle", or "background" when the slot holds no object, "mixed"
when it holds several), the centre and size of that region, and its k-means cluster. A cluster is
named by the majority label of its members; ``compose`` draws slots from the clusters of a name.

Each slot also records what the detector reads in the same region of the image decoded from
that image's slots (``decoded``): a slot whose object the model draws as a blob reads as
something else there, and ``compose`` prefers slots that decode as their concept.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from scenecraft.core.errors import ModelNotFound
from scenecraft.shapesworld.detect import detect
from scenecraft.slate.data import ImageSet, to_tensor, to_uint8
from scenecraft.slate.model import Slate

BACKGROUND = "background"
MIXED = "mixed"
OBJECT_COVER = 0.5  # a slot holds an object when its mask covers this much of the object
TENSORS = "concepts.safetensors"
INDEX = "concepts.json"


@dataclass
class ConceptLibrary:
    slots: torch.Tensor  # [M, D] every library slot
    labels: list[str]  # [M] what the detector sees in each slot's region
    centres: np.ndarray  # [M, 2] (x, y) of the slot's object (or mask) centre, in 0..1
    radii: np.ndarray  # [M] radius of a disc with the object's area, in 0..1
    sources: np.ndarray  # [M] index of the training image each slot came from
    cluster: np.ndarray  # [M] k-means cluster of each slot
    names: list[str]  # [C] each cluster's majority label
    purity: list[float]  # [C] fraction of a cluster's members that carry its name
    # [M] what the detector reads in the slot's region of the image decoded from its slots
    # (None: a library built before this was recorded)
    decoded: list[str] | None = None

    def concept_names(self) -> list[str]:
        """Names a request may use (object concepts; background is added automatically)."""
        return sorted({n for n in self.names if n not in (BACKGROUND, MIXED)})

    def members(self, name: str, faithful: bool = True) -> np.ndarray:
        """Indices of slots in clusters named ``name`` that carry that label themselves, and,
        with ``faithful`` where any of them does, that the model also decodes as ``name``."""
        named = np.isin(self.cluster, [c for c, n in enumerate(self.names) if n == name])
        members = named & (np.array(self.labels) == name)
        if faithful and self.decoded is not None:
            drawn = members & (np.array(self.decoded) == name)
            if drawn.any():
                members = drawn
        return np.nonzero(members)[0]

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"slots": self.slots.contiguous()}, folder / TENSORS)
        index = {
            "names": self.names,
            "purity": [round(p, 4) for p in self.purity],
            "labels": self.labels,
            "centres": np.round(self.centres, 4).tolist(),
            "radii": np.round(self.radii, 4).tolist(),
            "sources": self.sources.tolist(),
            "cluster": self.cluster.tolist(),
        }
        if self.decoded is not None:
            index["decoded"] = self.decoded
        (folder / INDEX).write_text(json.dumps(index))

    @classmethod
    def load(cls, folder: Path) -> ConceptLibrary:
        folder = Path(folder)
        if not (folder / INDEX).is_file() or not (folder / TENSORS).is_file():
            raise ModelNotFound(
                f"no concept library in {folder}: build one with `scenecraft train slate` "
                "(it writes concepts.json beside the checkpoint)"
            )
        index = json.loads((folder / INDEX).read_text())
        return cls(
            slots=load_file(folder / TENSORS)["slots"],
            labels=index["labels"],
            centres=np.array(index["centres"], np.float32).reshape(-1, 2),
            radii=np.array(index["radii"], np.float32),
            sources=np.array(index["sources"], np.int64),
            cluster=np.array(index["cluster"], np.int64),
            names=index["names"],
            purity=index["purity"],
            decoded=index.get("decoded"),
        )


def kmeans(
    x: torch.Tensor, k: int, iters: int = 50, seed: int = 0, return_centres: bool = False
) -> torch.Tensor:
    """Cluster rows of x [M, D] with scikit-learn's k-means (k-means++ start, at most ``iters``
    Lloyd steps, one run from ``seed``); returns assignments [M], or the centres [k, D] with
    ``return_centres``, on x's device."""
    from sklearn.cluster import KMeans

    fit = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=iters, random_state=seed)
    fit.fit(x.detach().cpu().float().numpy())
    if return_centres:
        return torch.from_numpy(fit.cluster_centers_).to(x.device, x.dtype)
    return torch.from_numpy(fit.labels_.astype(np.int64)).to(x.device)


def label_slots(
    image: np.ndarray, masks: np.ndarray, dets: list | None = None
) -> list[tuple[str, float, float, float]]:
    """For one image [H, W, 3] and its slot masks [K, H, W]: (label, cx, cy, radius) per slot.
    ``dets``: the detector's findings in ``image`` when the caller already has them."""
    h, w = masks.shape[1:]
    hard = masks.argmax(0)  # [H, W]
    dets = detect(image) if dets is None else dets
    out = []
    for k in range(len(masks)):
        region = hard == k
        held = [d for d in dets if (region & d.mask).sum() >= OBJECT_COVER * d.mask.sum()]
        if len(held) == 1:
            ys, xs = np.nonzero(held[0].mask)
            radius = float(np.sqrt(held[0].mask.sum() / np.pi)) / w
            out.append((held[0].label, (xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h, radius))
            continue
        ys, xs = np.nonzero(region) if region.any() else (np.array([h / 2]), np.array([w / 2]))
        label = MIXED if held else BACKGROUND
        out.append((label, (xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h, 0.0))
    return out


@torch.no_grad()
def build_library(
    model: Slate, images: ImageSet, clusters: int = 64, seed: int = 0, batch: int = 64
) -> ConceptLibrary:
    """Encode ``images``, label every slot with the detector, cluster, and name the clusters."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    all_slots, rows, sources, decoded = [], [], [], []
    for i in range(0, len(images), batch):
        chunk = images.images[i : i + batch]
        tokens = model.dvae.tokens(to_tensor(chunk, device))
        slots, attn = model.encode(tokens, g)  # [B, K, D], [B, K, N]
        masks = model.masks(attn).cpu().numpy()  # [B, K, H, W]
        # the images as the model draws them from their own slots (KV-cached decoding)
        redrawn = to_uint8(model.dvae.decode_tokens(model.generate(slots)))  # [B, H, W, 3]
        for j, (img, m) in enumerate(zip(chunk, masks, strict=True)):
            rows += label_slots(img, m)
            decoded += [r[0] for r in label_slots(redrawn[j], m)]
            sources += [i + j] * len(m)
        all_slots.append(slots.flatten(0, 1).cpu())
    slots = torch.cat(all_slots)  # [M, D]
    assign = kmeans(slots, min(clusters, len(slots)), seed=seed).numpy()
    labels = [r[0] for r in rows]
    names, purity = [], []
    for c in range(int(assign.max()) + 1):
        votes = Counter(lab for lab, a in zip(labels, assign, strict=True) if a == c)
        name, n = votes.most_common(1)[0] if votes else (BACKGROUND, 0)
        names.append(name)
        purity.append(n / max(sum(votes.values()), 1))
    return ConceptLibrary(
        slots=slots,
        labels=labels,
        centres=np.array([[r[1], r[2]] for r in rows], np.float32),
        radii=np.array([r[3] for r in rows], np.float32),
        sources=np.array(sources, np.int64),
        cluster=assign,
        names=names,
        purity=purity,
        decoded=decoded,
    )
