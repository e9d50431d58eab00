"""Serving variants chosen by measurement and gated by accuracy (the CPU target).

Deploy exports the fp32 ONNX graph (parity-checked against torch), then derives an int8 graph with
onnxruntime's dynamic quantisation (int8 weights, activations quantised per batch: the VNNI/AMX int8
kernels of these CPUs). Every variant is run on the model's frozen test set (up to ``variant_eval_rows``
rows) through the serving tokenizer, in length-sorted batches as Triton's model does, and judged by:

    agreement   share of labels equal to torch's on the same rows          >= ``min_agreement`` (99.5 %)
    f1_drop     torch's macro-F1 minus the variant's, against the labels    <= ``max_f1_drop`` (0.5 pt)
    texts_per_s measured on those rows in this process, same thread count as served

The fastest variant that passes is served; fp32 passed parity already and is always eligible. The
numbers go into the deploy record. The GPU target keeps the fp32 graph on native onnxruntime.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ugc import registry, storage

VARIANTS = ("fp32", "int8")


def quantize_int8(fp32_path: str, out_path: str) -> str:
    """Dynamic int8 quantisation of every MatMul/Gemm weight (onnxruntime.quantization)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, out_path, weight_type=QuantType.QInt8)
    return out_path


def run_sorted(session, ids: np.ndarray, mask: np.ndarray, batch: int = 32) -> np.ndarray:
    """Logits in input order; rows sorted by length so each batch is trimmed to its longest text."""
    lengths = mask.sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(ids), 0), np.float32)
    parts = []
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        longest = max(int(lengths[idx].max()), 1)
        parts.append(session.run(["logits"], {"input_ids": ids[idx, :longest], "attention_mask": mask[idx, :longest]})[0])
    if parts:
        out = np.empty((len(ids), parts[0].shape[1]), np.float32)
        out[order] = np.concatenate(parts)
    return out


def pick(measured: dict[str, dict], min_agreement: float, max_f1_drop: float) -> str:
    """The fastest variant that passes the accuracy gate (marks each ``passed``); fp32 is always eligible."""
    for name, v in measured.items():
        v["passed"] = name == "fp32" or (v["agreement"] >= min_agreement and v["f1_drop"] <= max_f1_drop)
    return max((n for n, v in measured.items() if v["passed"]), key=lambda n: measured[n]["texts_per_s"] or 0.0)


def eval_rows(registry_uri: str, card: dict, limit: int) -> tuple[list[str], list[str]]:
    """(texts, labels) of the model's frozen test set, the first ``limit`` rows (a fixed, seeded sample)."""
    import io

    import pyarrow.parquet as pq

    uri = registry.testset_uri(registry_uri, card["test_set_version"])
    t = pq.read_table(io.BytesIO(storage.read_bytes(uri)), columns=["text", "label"])
    if t.num_rows > limit:
        t = t.take(np.sort(np.random.default_rng(0).choice(t.num_rows, limit, replace=False)))
    return t["text"].to_pylist(), t["label"].to_pylist()


def choose(model_dir: str, fp32_path: str, workdir: str, texts: list[str], truth: list[str],
           variants: list[str], min_agreement: float, max_f1_drop: float, threads: int = 0) -> tuple[str, dict]:
    """(path of the variant to serve, record of every variant's numbers and the choice)."""
    import onnxruntime as ort
    from sklearn.metrics import f1_score

    from serving.export import tokenize_like_triton
    from ugc.inference import load_classifier, predict_probs

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
    paths = {"fp32": fp32_path}
    if "int8" in variants:
        paths["int8"] = quantize_int8(fp32_path, os.path.join(workdir, "model.int8.onnx"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    record: dict = {"rows": len(texts), "torch_macro_f1": ref_f1, "min_agreement": min_agreement,
                    "max_f1_drop": max_f1_drop, "variants": {}}
    for name, path in paths.items():
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        run_sorted(sess, ids[:32], mask[:32])  # warm-up: first-call allocations are not throughput
        t0 = time.perf_counter()
        pred = run_sorted(sess, ids, mask).argmax(1)
        seconds = time.perf_counter() - t0
        f1 = macro_f1(pred)
        v = {"agreement": float((pred == ref).mean()) if len(pred) else 1.0, "macro_f1": f1,
             "f1_drop": (ref_f1 - f1) if f1 is not None and ref_f1 is not None else 0.0,
             "texts_per_s": len(texts) / seconds if seconds > 0 else None, "bytes": os.path.getsize(path)}
        record["variants"][name] = v
    served = pick(record["variants"], min_agreement, max_f1_drop)
    record["served"] = served
    record["speedup_vs_fp32"] = ((record["variants"][served]["texts_per_s"] or 0)
                                 / (record["variants"]["fp32"]["texts_per_s"] or 1))
    return paths[served], record
