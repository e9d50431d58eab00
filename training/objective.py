"""What the fine-tuning loop minimises: class- and source-weighted cross-entropy, plus, when a teacher's logits
come with the rows, the distillation term (Hinton et al. 2015: KL divergence of temperature-softened
distributions, scaled by T^2 so its gradients keep their size as T changes). Rows without a label (unlabelled
posts scored by the teacher) only count in the distillation term."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

IGNORE = -100


def row_targets(table: pa.Table, labels: list[str], source_weights: dict[str, float]) -> dict[str, list]:
    """Per row: the label index (IGNORE when unlabelled) and the loss weight of its source (platform)."""
    index = {lab: i for i, lab in enumerate(labels)}
    y = [index.get(v, IGNORE) if v is not None else IGNORE for v in table["label"].to_pylist()]
    w = [float(source_weights.get(p, 1.0)) for p in table["platform"].to_pylist()]
    return {"y": y, "w": w}


def class_weights(y: list[int], k: int, mode: str) -> np.ndarray:
    """"balanced": n / (k * count) per class (scikit-learn's definition); "none": ones."""
    counts = np.bincount(np.array([v for v in y if v != IGNORE], dtype=np.int64), minlength=k).astype(np.float64)
    if mode == "none" or counts.sum() == 0:
        return np.ones(k)
    return np.where(counts > 0, counts.sum() / (k * np.maximum(counts, 1)), 0.0)


def loss(logits, y, w, class_w, teacher=None, alpha: float = 0.5, temperature: float = 2.0):
    """Weighted mean cross-entropy over labelled rows; with ``teacher`` logits, (1 - alpha) of it plus alpha of
    the distillation loss over every row."""
    import torch.nn.functional as F

    logits = logits.float()
    labelled = y != IGNORE
    ce = F.cross_entropy(logits, y.clamp(min=0), weight=class_w, reduction="none")
    wl = w * labelled * class_w[y.clamp(min=0)]
    hard = (ce * w * labelled).sum() / wl.sum().clamp(min=1e-8)
    if teacher is None:
        return hard
    t = temperature
    kl = F.kl_div(F.log_softmax(logits / t, -1), F.log_softmax(teacher.float() / t, -1), reduction="none",
                  log_target=True).sum(-1) * (t * t)
    soft = (kl * w).sum() / w.sum().clamp(min=1e-8)
    return soft if not bool(labelled.any()) else alpha * soft + (1 - alpha) * hard
