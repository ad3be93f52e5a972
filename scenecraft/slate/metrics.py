"""FG-ARI: adjusted Rand index of predicted slot masks vs ground-truth instances, on foreground."""

from __future__ import annotations

import numpy as np


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """ARI of two flat labellings (sklearn's definition, 1.0 for the degenerate perfect cases)."""
    _, t = np.unique(labels_true, return_inverse=True)
    _, p = np.unique(labels_pred, return_inverse=True)
    n = t.size
    if n == 0:
        return float("nan")
    table = np.zeros((t.max() + 1, p.max() + 1), np.int64)
    np.add.at(table, (t, p), 1)
    if table.shape[0] == table.shape[1] == 1 or (table.shape[0] == table.shape[1] == n):
        return 1.0

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) // 2).sum())

    index = pairs(table)
    rows, cols = pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2)
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def fg_ari(true_masks: np.ndarray, slot_masks: np.ndarray) -> float:
    """true_masks [H, W] (0 = background, k = object k); slot_masks [K, H, W] soft or hard.

    Each pixel goes to its argmax slot; only pixels of some object count (background excluded).
    """
    fg = true_masks > 0
    pred = slot_masks.argmax(0)
    return adjusted_rand_index(true_masks[fg], pred[fg])
