"""Teachers for distillation: a stronger model, too slow to serve, whose probabilities the small student learns.

A teacher is a registered version, of one of two kinds:

- ``classifier``: any fine-tuned sentiment version (``ugc train --set base_model=<a bigger encoder>``);
- ``probe``: a frozen sentence encoder (``embeddinggemma-300m``) with a logistic-regression head fitted on the
  training split (C chosen on validation macro-F1). On 2 CPU cores a 300M encoder cannot be fine-tuned in hours;
  encoding every text once and fitting a head takes minutes, and keeps the encoder's multilingual knowledge.

``logits(registry, version)`` turns either into ``texts -> logits`` for ``training.pipeline``'s distillation.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np

from training import evaluate
from training.config import TrainConfig
from training.metrics import classification_report
from ugc import inference, registry, storage
from ugc.splits import read_split

log = logging.getLogger(__name__)
PROBE = "teacher.json"


def encoder(name: str, max_length: int):
    """A sentence-transformers encoder for a catalog name or a local directory, on the CPU in bf16 where the
    CPU multiplies bf16 natively. ``max_length`` tokens: EmbeddingGemma's default 2,048 makes the 1 % of long
    reviews cost more than the rest (measured 10 texts/s; 53 at 128 tokens)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from training import modeling

    path, _ = modeling.resolve_base_model(name)
    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = max_length
    if inference.cpu_bf16():
        model = model.to(torch.bfloat16)
    return model


def encode(model, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Normalised embeddings, with the encoder's classification prompt when it has one."""
    prompt = "Classification" if "Classification" in (getattr(model, "prompts", None) or {}) else None
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
    out = model.encode([texts[i] for i in order], batch_size=batch_size, prompt_name=prompt, convert_to_numpy=True,
                       normalize_embeddings=True, show_progress_bar=False).astype(np.float32)
    emb = np.empty_like(out)
    emb[order] = out
    return emb


def fit_probe(cfg: TrainConfig, manifest_uri: str) -> dict:
    """Encode the run's splits with ``cfg.base_model``, fit the head, evaluate, register a ``probe`` teacher."""
    from sklearn.linear_model import LogisticRegression

    manifest = json.loads(storage.read_bytes(manifest_uri))
    labels = list(cfg.labels)
    train, val, test = (read_split(manifest[f"{s}_uri"]) for s in ("train", "val", "test"))
    model = encoder(cfg.base_model, cfg.max_length)
    x, seconds = {}, {}
    for name, t in (("train", train), ("val", val), ("test", test)):
        t0 = time.perf_counter()
        x[name] = encode(model, t["text"].to_pylist())
        seconds[name] = time.perf_counter() - t0
    y = {name: evaluate.encode_labels(t, labels) for name, t in (("train", train), ("val", val))}
    best = None
    for c in (0.3, 1.0, 3.0, 10.0):
        head = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x["train"], y["train"])
        f1 = classification_report(y["val"], _full(head, x["val"], labels), labels)["macro_f1"]
        log.info("probe C=%s val macro-F1 %.4f", c, f1)
        best = max(best or (f1, c, head), (f1, c, head), key=lambda b: b[0])
    _, c, head = best
    score = _scorer(model, head.coef_, head.intercept_, head.classes_, labels, softmax=True)
    metrics = {**evaluate.report(_full(head, x["test"], labels), test, labels), "C": c,
               "texts_per_s": test.num_rows / seconds["test"],
               "reserved": evaluate.reserved(score, manifest.get("reserved", {}), labels)}
    version = registry.new_version("t", manifest["snapshot_id"])
    with tempfile.TemporaryDirectory(prefix="ugc-teacher-") as out:
        buf = io.BytesIO()
        np.savez(buf, coef=head.coef_, intercept=head.intercept_, classes=head.classes_)
        with open(os.path.join(out, "head.npz"), "wb") as f:
            f.write(buf.getvalue())
        registry.write_label_map(out, labels, cfg.max_length)
        from training import modeling

        _, notes = modeling.resolve_base_model(cfg.base_model)
        for name, obj in ((PROBE, {"kind": "probe", "encoder": cfg.base_model, "max_length": cfg.max_length}),
                          ("metrics.json", {"test": metrics}),
                          ("lineage.json", {"data_snapshot_id": manifest["snapshot_id"], "base_model": notes,
                                            "partitions": manifest["partitions"], "data_manifest_uri": manifest_uri,
                                            "code_version": registry.code_version()})):
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                json.dump(obj, f, indent=1, ensure_ascii=False, default=str)
        card = {"task": "sentiment", "role": "teacher", "teacher_kind": "probe", "labels": labels,
                "base_model": cfg.base_model, "license": notes.get("license"),
                "test_set_version": manifest["test_set_version"], "data_snapshot_id": manifest["snapshot_id"],
                "test": {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "ece", "lang_balanced_macro_f1",
                                                 "texts_per_s", "reserved")}}
        registry.register(cfg.registry, out, version, card)
    return {"version": version, "test": card["test"], "C": c}


def _full(head, x: np.ndarray, labels: list[str]) -> np.ndarray:
    probs = np.zeros((len(x), len(labels)))
    probs[:, head.classes_] = head.predict_proba(x)
    return probs


def _scorer(model, coef, intercept, classes, labels: list[str], softmax: bool) -> Callable[[list[str]], np.ndarray]:
    def score(texts: list[str]) -> np.ndarray:
        z = encode(model, texts) @ coef.T + intercept
        if z.shape[1] == 1:  # a binary head gives one logit
            z = np.concatenate([-z / 2, z / 2], axis=1)
        out = np.full((len(texts), len(labels)), -30.0)  # classes never seen get no mass
        out[:, classes] = z
        if softmax:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return out
    return score


def logits(registry_uri: str, version: str) -> Callable[[list[str]], np.ndarray]:
    """``texts -> logits`` of a teacher version (a probe's head over its encoder, or a classifier's log-probs,
    which differ from its logits by a per-row constant that softmax ignores)."""
    from ugc.inference import load_classifier, predict_probs

    path = registry.fetch_cached(registry_uri, version)
    if os.path.exists(os.path.join(path, PROBE)):
        with open(os.path.join(path, PROBE), encoding="utf-8") as f:
            spec = json.load(f)
        head = np.load(os.path.join(path, "head.npz"))
        labels = registry.read_label_map(path)["labels"]
        return _scorer(encoder(spec["encoder"], spec["max_length"]), head["coef"], head["intercept"], head["classes"],
                       labels, softmax=False)
    model, tok, _, max_length = load_classifier(path)
    return lambda texts: np.log(np.maximum(predict_probs(model, tok, texts, max_length), 1e-9))
