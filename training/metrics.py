"""Classification metrics in plain numpy: the same numbers for the transformer, the baseline and the gate."""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """k x k matrix, rows = true class, columns = predicted class."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class confidence over equal-width bins (Guo et al. 2017)."""
    if len(y_true) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(cm).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(cm.sum(0) > 0, tp / cm.sum(0), 0.0)
        recall = np.where(cm.sum(1) > 0, tp / cm.sum(1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def classification_report(y_true, probs, labels: list[str], slices: dict[str, list] | None = None) -> dict:
    """Accuracy, macro-F1 (over classes present in y_true), per-class P/R/F1, confusion, ECE, slices.

    ``slices`` maps a column name (lang, platform) to per-row values; each value gets its own
    accuracy / macro-F1 / n.
    """
    y_true = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=float)
    k = len(labels)
    y_pred = probs.argmax(axis=1)
    cm = confusion(y_true, y_pred, k)
    p, r, f1 = _prf(cm)
    present = cm.sum(1) > 0
    out = {
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "ece": expected_calibration_error(probs, y_true),
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f1[i]),
                            "support": int(cm[i].sum())} for i, lab in enumerate(labels)},
        "confusion_matrix": {"labels": list(labels), "rows_true_cols_pred": cm.tolist()},
        "slices": {},
    }
    for col, values in (slices or {}).items():
        values = np.asarray(values, dtype=object)
        out["slices"][col] = {}
        for v in sorted({str(x) for x in values}):
            m = values.astype(str) == v
            scm = confusion(y_true[m], y_pred[m], k)
            _, _, sf1 = _prf(scm)
            sp = scm.sum(1) > 0
            out["slices"][col][v] = {"n": int(m.sum()), "accuracy": float((y_pred[m] == y_true[m]).mean()),
                                     "macro_f1": float(sf1[sp].mean()) if sp.any() else 0.0}
    if "lang" in out["slices"]:  # every language weighs the same, however many posts it has
        f1s = [v["macro_f1"] for v in out["slices"]["lang"].values() if v["n"] >= 20]
        out["lang_balanced_macro_f1"] = float(np.mean(f1s)) if f1s else out["macro_f1"]
    return out


def polar_report(y_true, probs, labels: list[str]) -> dict:
    """On rows whose true label is negative or positive (a binary corpus scored by a 3-class model): accuracy
    where "neutral" counts as wrong, and how often the model answered neutral."""
    y_true, pred = np.asarray(y_true, dtype=int), np.asarray(probs).argmax(axis=1)
    polar = [labels.index(x) for x in ("negative", "positive") if x in labels]
    m = np.isin(y_true, polar)
    if not m.any():
        return {"n": 0, "polar_accuracy": 0.0, "neutral_rate": 0.0}
    neutral = labels.index("neutral") if "neutral" in labels else -1
    return {"n": int(m.sum()), "polar_accuracy": float((pred[m] == y_true[m]).mean()),
            "neutral_rate": float((pred[m] == neutral).mean())}
