"""Batched inference and evaluation of a classifier on a split (the held-out test set, or val)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from training.metrics import classification_report


def encode_labels(table: pa.Table, labels: list[str]) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    return np.array([index[v] for v in table["label"].to_pylist()], dtype=np.int64)


def predict_probs(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 128,
                  device=None) -> np.ndarray:
    """Softmax probabilities, float32, one row per text. Sorts by length so batches pad little."""
    import torch

    device = device or next(model.parameters()).device
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            enc = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt").to(device)
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return out


def evaluate_table(model, tokenizer, table: pa.Table, labels: list[str], max_length: int,
                   batch_size: int = 128) -> dict:
    """Full classification report of ``model`` on ``table`` with slices by language and platform."""
    probs = predict_probs(model, tokenizer, table["text"].to_pylist(), max_length, batch_size)
    return classification_report(encode_labels(table, labels), probs, labels,
                                 slices={c: table[c].to_pylist() for c in ("lang", "platform")})


def evaluate_model_dir(model_dir: str, table: pa.Table, batch_size: int = 128) -> dict:
    """Evaluate a saved model directory (weights + tokenizer + label map) on ``table``."""
    import json
    import os

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with open(os.path.join(model_dir, "label_map.json"), encoding="utf-8") as f:
        label_map = json.load(f)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return evaluate_table(model, tokenizer, table, label_map["labels"], label_map["max_length"], batch_size)
