"""Batched inference and evaluation of a classifier on a split (the held-out test set, or val)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from training.metrics import classification_report
from ugc.inference import load_classifier, predict_probs


def encode_labels(table: pa.Table, labels: list[str]) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    return np.array([index[v] for v in table["label"].to_pylist()], dtype=np.int64)


def evaluate_table(model, tokenizer, table: pa.Table, labels: list[str], max_length: int,
                   batch_size: int = 128) -> dict:
    """Full classification report of ``model`` on ``table`` with slices by language and platform."""
    probs = predict_probs(model, tokenizer, table["text"].to_pylist(), max_length, batch_size)
    return classification_report(encode_labels(table, labels), probs, labels,
                                 slices={c: table[c].to_pylist() for c in ("lang", "platform")})


def evaluate_model_dir(model_dir: str, table: pa.Table, batch_size: int = 128) -> dict:
    """Evaluate a saved model directory (weights + tokenizer + label map) on ``table``."""
    model, tokenizer, labels, max_length = load_classifier(model_dir)
    return evaluate_table(model, tokenizer, table, labels, max_length, batch_size)
