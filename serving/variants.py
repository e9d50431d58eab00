"""Serving variants chosen by measurement and gated by accuracy (the CPU target).

Deploy exports the fp32 ONNX graph (parity-checked against torch), then derives
    int8   onnxruntime's dynamic quantisation (int8 weights scaled per output channel, activations quantised per
           batch: VNNI/AMX int8);
    bf16   the torch classifier with bf16 weights (AMX/AVX512-BF16 matrix units), measured only on a CPU that
           has them (emulated bf16 is slower than fp32).
    cascade  int8 on every row, fp32 again on the rows whose int8 top-two logit margin is under a margin
           calibrated here (runners.cascade_runner): int8's speed on confident rows, fp32's answer near the
           decision boundary, where int8's flips are (a label can only flip where int8's logit error spans
           more than the row's margin). On the demo model int8 alone agreed with fp32 on 0.9927-0.9975 of the
           test rows but 0.957-0.991 of real text; the cascade on 0.9987-1.0000 (README, Benchmarks).
Every variant is run on the model's frozen test set (up to ``variant_eval_rows`` rows) through the serving
tokenizer, in batches of Triton's ``max_batch_size`` rows each run in the length-sorted sub-batches Triton's
model runs (triton_models/runners.py), and judged by:

    agreement   share of labels equal to torch's on the same rows          >= ``min_agreement`` (99.5 %),
                on all rows and on each source with >= ``slice_min_rows`` rows
    f1_drop     torch's macro-F1 minus the variant's, against the labels    <= ``max_f1_drop`` (0.5 pt)
    texts_per_s measured on those rows in this process, with the threads one served instance runs
                (``intra_op_threads``): the ranking that holds inside Triton (at 2 threads the cascade's two
                sessions ranked it level with bf16; at the served 1 thread it is ahead)

The fastest variant that passes is served; fp32 passed parity already and is always eligible. The
numbers go into the deploy record. The GPU target keeps the fp32 graph on native onnxruntime.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ugc import registry, storage

VARIANTS = ("fp32", "int8", "bf16", "cascade")


def quantize_int8(fp32_path: str, out_path: str) -> str:
    """Dynamic int8 quantisation, weights with one scale per output channel (onnxruntime.quantization).
    Per channel: agreement with torch 0.9765 -> 0.9904 at the same speed, 2.9x fp32 (1,661 frozen test rows,
    demo model); per tensor, one outlier column sets the step of the whole matrix. Still under the 99.5 % gate:
    the error is spread over every layer (keeping any one layer's FFN output in fp32: 0.989-0.991)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, out_path, weight_type=QuantType.QInt8, per_channel=True)
    return out_path


def save_bf16(model_dir: str, out_dir: str) -> str:
    """The classifier's weights in bf16 with its config: what the torch runner serves (half the fp32 bytes),
    loaded as in-process bf16 scoring loads them (ugc.inference)."""
    from ugc.inference import load_classifier

    load_classifier(model_dir, bf16=True)[0].save_pretrained(out_dir)
    return out_dir


def _bytes(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def pick(measured: dict[str, dict], min_agreement: float, max_f1_drop: float) -> str:
    """The fastest variant that passes the accuracy gate (marks each ``passed``); fp32 is always eligible. The
    agreement bar holds for all rows and for every judged source slice (``worst_slice``, when measured)."""
    for name, v in measured.items():
        worst = (v.get("worst_slice") or {}).get("agreement", 1.0)
        v["passed"] = name == "fp32" or (min(v["agreement"], worst) >= min_agreement and v["f1_drop"] <= max_f1_drop)
    return max((n for n, v in measured.items() if v["passed"]), key=lambda n: measured[n]["texts_per_s"] or 0.0)


def cascade_margin(int8_logits: np.ndarray, fp32_logits: np.ndarray, safety: float) -> float:
    """The top-two margin under which the cascade re-runs a row in fp32: ``safety`` x the widest span of int8's
    logit error (max minus min over the labels) on these rows. int8 can only put a different label on top
    where that span exceeds the row's int8 margin, so rows above the margin keep fp32's label unless their
    error is wider than any measured."""
    if not len(int8_logits):
        return 0.0
    err = np.asarray(int8_logits, np.float64) - np.asarray(fp32_logits, np.float64)
    return float(safety * (err.max(axis=1) - err.min(axis=1)).max())


def cascade_labels(int8_logits: np.ndarray, fp32_logits: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(labels, rows re-run) of the cascade with ``margin``, from both graphs' logits for the same rows (what
    runners.cascade_runner computes, without running the fp32 graph on rows it would not re-run)."""
    from serving.triton_models.runners import top_margin

    redo = top_margin(int8_logits) < margin
    return np.where(redo, np.asarray(fp32_logits).argmax(1), np.asarray(int8_logits).argmax(1)), redo


def cross_fitted(int8_logits: np.ndarray, fp32_logits: np.ndarray, safety: float) -> tuple[np.ndarray, np.ndarray]:
    """cascade_labels with each half of the rows (alternate rows) judged by the margin calibrated on the other
    half: the gate's agreement is then measured on rows the margin was not fitted to."""
    n = len(int8_logits)
    labels, redo = np.zeros(n, np.int64), np.zeros(n, bool)
    half = np.arange(n) % 2
    for h in (0, 1):
        fit, use = half != h, half == h
        margin = cascade_margin(int8_logits[fit], fp32_logits[fit], safety) if fit.any() else np.inf
        labels[use], redo[use] = cascade_labels(int8_logits[use], fp32_logits[use], margin)
    return labels, redo


def save_cascade(fp32_path: str, int8_path: str, margin: float, out_dir: str) -> str:
    """The cascade's files (what runners.cascade_runner loads): both graphs and the margin."""
    import json
    import shutil

    from serving.triton_models.runners import CASCADE, INT8_ONNX

    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(fp32_path, os.path.join(out_dir, "model.onnx"))
    shutil.copyfile(int8_path, os.path.join(out_dir, INT8_ONNX))
    with open(os.path.join(out_dir, CASCADE), "w", encoding="utf-8") as f:
        json.dump({"margin": margin}, f)
    return out_dir


def eval_rows(registry_uri: str, card: dict, limit: int) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, sources) of the model's frozen test set, ``limit`` rows (a fixed, seeded sample); a row's
    source is its ``platform`` (a generated platform, or the public data set it came from)."""
    import io

    import pyarrow.parquet as pq

    uri = registry.testset_uri(registry_uri, card["test_set_version"])
    f = pq.ParquetFile(io.BytesIO(storage.read_bytes(uri)))
    t = f.read(columns=[c for c in ("text", "label", "platform") if c in f.schema_arrow.names])
    if t.num_rows > limit:
        t = t.take(np.sort(np.random.default_rng(0).choice(t.num_rows, limit, replace=False)))
    sources = t["platform"].to_pylist() if "platform" in t.column_names else [""] * t.num_rows
    return t["text"].to_pylist(), t["label"].to_pylist(), [s or "" for s in sources]


def slice_agreement(same: np.ndarray, sources: list[str] | None, min_rows: int) -> dict:
    """{source: {rows, agreement}} for every source with at least ``min_rows`` rows (fewer: one flip is more than
    the bar's resolution)."""
    if not sources:
        return {}
    src = np.asarray(sources, dtype=object)
    names, counts = np.unique(src, return_counts=True)
    return {str(s): {"rows": int(n), "agreement": float(same[src == s].mean())}
            for s, n in zip(names, counts, strict=True) if n >= min_rows}


def choose(model_dir: str, fp32_path: str, workdir: str, texts: list[str], truth: list[str],
           variants: list[str], min_agreement: float, max_f1_drop: float, threads: int = 0,
           cascade_safety: float = 1.0, sources: list[str] | None = None,
           slice_min_rows: int = 200, batch: int = 64) -> tuple[str, dict]:
    """(path of the variant to serve, record of every variant's numbers and the choice). ``sources``: each
    row's source; every source with ``slice_min_rows`` rows must pass the agreement bar on its own, so easy
    rows (generated posts, far from the boundary) cannot carry a variant that changes real text's labels.
    Rows run as Triton runs them: in batches of ``batch`` (its max_batch_size) drawn in a fixed shuffled order,
    not the whole set sorted by length at once. int8 takes one activation scale per batch, so its answers,
    the errors the cascade's margin is fitted to, and every variant's speed depend on the batches they run in."""
    from sklearn.metrics import f1_score

    from serving.export import tokenize_like_triton
    from serving.triton_models import runners  # the very code Triton's runner serves with
    from ugc.inference import cpu_bf16, load_classifier, predict_probs

    label_map = registry.read_label_map(model_dir)
    labels, max_length = label_map["labels"], label_map["max_length"]
    model, tok, _, _ = load_classifier(model_dir)
    ref = np.asarray(predict_probs(model, tok, texts, max_length)).argmax(1)
    truth_idx = np.array([labels.index(x) if x in labels else -1 for x in truth])
    known = truth_idx >= 0

    def macro_f1(pred):
        return float(f1_score(truth_idx[known], pred[known], average="macro", labels=list(range(len(labels))),
                              zero_division=0)) if known.any() else None

    ref_f1 = macro_f1(ref)
    ids, mask = tokenize_like_triton(os.path.join(model_dir, "tokenizer.json"), texts, max_length)
    record: dict = {"rows": len(texts), "torch_macro_f1": ref_f1, "min_agreement": min_agreement,
                    "max_f1_drop": max_f1_drop, "variants": {}}
    paths = {"fp32": fp32_path}
    if "int8" in variants or "cascade" in variants:
        paths["int8"] = quantize_int8(fp32_path, os.path.join(workdir, "model.int8.onnx"))
    if "bf16" in variants:
        if cpu_bf16():
            paths["bf16"] = save_bf16(model_dir, os.path.join(workdir, "bf16"))
        else:
            record["skipped"] = {"bf16": "this CPU has no native bf16 (AMX/AVX512-BF16): emulated, it is slower"}

    chunks = np.array_split(np.random.default_rng(0).permutation(len(texts)), max(1, -(-len(texts) // batch)))

    def measure(name: str, path: str, loader, pred=None) -> np.ndarray:
        run, multiple = loader(path, threads)
        runners.run_bucketed(run, ids[:64], mask[:64], multiple=multiple)  # warm-up: first-call allocations
        logits = None
        t0 = time.perf_counter()
        for idx in chunks:
            part = runners.run_bucketed(run, ids[idx], mask[idx], multiple=multiple)
            if logits is None:
                logits = np.zeros((len(texts), part.shape[1]), np.float32)
            logits[idx] = part
        seconds = time.perf_counter() - t0
        pred = logits.argmax(1) if pred is None else pred
        f1 = macro_f1(pred)
        slices = slice_agreement(pred == ref, sources, slice_min_rows)
        worst = min(slices, key=lambda k: slices[k]["agreement"]) if slices else None
        record["variants"][name] = {
            "agreement": float((pred == ref).mean()) if len(pred) else 1.0, "macro_f1": f1,
            "f1_drop": (ref_f1 - f1) if f1 is not None and ref_f1 is not None else 0.0,
            "texts_per_s": len(texts) / seconds if seconds > 0 else None, "bytes": _bytes(path),
            "slices": slices, "worst_slice": {"source": worst, **slices[worst]} if worst else None}
        return logits

    import torch

    torch_threads = torch.get_num_threads()  # the bf16 runner sets the process's; deploy goes on after this
    try:
        logits = {name: measure(name, path, runners.torch_bf16_runner if name == "bf16" else runners.onnx_runner)
                  for name, path in paths.items()}
    finally:
        torch.set_num_threads(torch_threads)
    if "int8" not in variants:  # quantised only as the cascade's first stage
        record["variants"].pop("int8", None)
    if "cascade" in variants and len(texts):
        # Judged on labels whose margin was fitted to the other half of the rows; served with the margin
        # fitted to all of them, and timed as served.
        pred, redo = cross_fitted(logits["int8"], logits["fp32"], cascade_safety)
        margin = cascade_margin(logits["int8"], logits["fp32"], cascade_safety)
        paths["cascade"] = save_cascade(fp32_path, paths["int8"], margin, os.path.join(workdir, "cascade"))
        measure("cascade", paths["cascade"], runners.cascade_runner, pred)
        record["variants"]["cascade"].update(
            margin=margin, safety=cascade_safety, rerun_share=float(redo.mean()),
            served_rerun_share=float(cascade_labels(logits["int8"], logits["fp32"], margin)[1].mean()))
    served = pick(record["variants"], min_agreement, max_f1_drop)
    record["served"] = served
    record["speedup_vs_fp32"] = ((record["variants"][served]["texts_per_s"] or 0)
                                 / (record["variants"]["fp32"]["texts_per_s"] or 1))
    return paths[served], record
