"""Evaluation of a classifier (any ``texts -> probabilities`` scorer) on a split, and on the reserved public sets.

    report          accuracy, macro-F1, per-class, ECE, slices by language and source (platform)
    reserved        per reserved public set: the same, plus polar accuracy / neutral rate (binary sets) and the
                    confident subset (annotator confidence >= 0.9), as the cross-domain airline set is judged
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.metrics import classification_report, polar_report
from ugc.inference import load_classifier, predict_probs
from ugc.splits import read_split

Scorer = Callable[[list[str]], np.ndarray]
CONFIDENT = 0.9


def encode_labels(table: pa.Table, labels: list[str]) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    return np.array([index[v] for v in table["label"].to_pylist()], dtype=np.int64)


def model_scorer(model, tokenizer, max_length: int, batch_size: int = 128) -> Scorer:
    return lambda texts: predict_probs(model, tokenizer, texts, max_length, batch_size)


def report(probs: np.ndarray, table: pa.Table, labels: list[str]) -> dict:
    return classification_report(encode_labels(table, labels), probs, labels,
                                 slices={c: table[c].to_pylist() for c in ("lang", "platform")})


def evaluate_table(model, tokenizer, table: pa.Table, labels: list[str], max_length: int,
                   batch_size: int = 128) -> dict:
    """Full classification report of ``model`` on ``table``, with its inference speed on this machine."""
    t0 = time.perf_counter()
    probs = model_scorer(model, tokenizer, max_length, batch_size)(table["text"].to_pylist())
    seconds = time.perf_counter() - t0
    return {**report(probs, table, labels), "texts_per_s": table.num_rows / seconds if seconds else None}


def reserved(score: Scorer, sets: dict[str, dict], labels: list[str]) -> dict[str, dict]:
    """Headline metrics of ``score`` on every reserved public set of a data manifest."""
    out = {}
    for source, meta in sets.items():
        t = read_split(meta["uri"])
        probs, y = score(t["text"].to_pylist()), encode_labels(t, labels)
        full = classification_report(y, probs, labels)
        r = {"n": t.num_rows, "sha": meta.get("sha"), "uri": meta["uri"], "accuracy": full["accuracy"],
             "macro_f1": full["macro_f1"]}
        if set(t["label"].to_pylist()) <= {"negative", "positive"}:
            r.update(polar_report(y, probs, labels))
        conf = pc.fill_null(pc.greater_equal(t["label_confidence"], CONFIDENT), False).to_numpy(zero_copy_only=False)
        if conf.any() and not conf.all():
            sub = classification_report(y[conf], probs[conf], labels)
            r["confident"] = {"n": int(conf.sum()), "accuracy": sub["accuracy"], "macro_f1": sub["macro_f1"]}
        out[source] = r
    return out


def evaluate_model_dir(model_dir: str, table: pa.Table | None, batch_size: int = 128,
                       reserved_sets: dict[str, dict] | None = None) -> dict:
    """Evaluate a saved model directory (weights + tokenizer + label map) on ``table`` (None: skip) and on
    ``reserved_sets`` ({source: {"uri", "sha"}})."""
    model, tokenizer, labels, max_length = load_classifier(model_dir)
    out = evaluate_table(model, tokenizer, table, labels, max_length, batch_size) if table is not None else {}
    if reserved_sets:
        out["reserved"] = reserved(model_scorer(model, tokenizer, max_length, batch_size), reserved_sets, labels)
    return out
