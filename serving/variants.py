"""Serving variants chosen by measurement and gated by accuracy (the CPU target).

Deploy exports the fp32 ONNX graph (parity-checked against torch), then derives
    int8   onnxruntime's dynamic quantisation (int8 weights scaled per output channel, activations quantised per
           batch: VNNI/AMX int8);
    bf16   the torch classifier with bf16 weights (AMX/AVX512-BF16 matrix units), measured only on a CPU that
           has them (emulated bf16 is slower than fp32).
Every variant is run on the model's frozen test set (up to ``variant_eval_rows`` rows) through the serving
tokenizer, in the length-sorted sub-batches Triton's model runs (triton_models/runners.py), and judged by:

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

VARIANTS = ("fp32", "int8", "bf16")


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
    if "int8" in variants:
        paths["int8"] = quantize_int8(fp32_path, os.path.join(workdir, "model.int8.onnx"))
    if "bf16" in variants:
        if cpu_bf16():
            paths["bf16"] = save_bf16(model_dir, os.path.join(workdir, "bf16"))
        else:
            record["skipped"] = {"bf16": "this CPU has no native bf16 (AMX/AVX512-BF16): emulated, it is slower"}
    for name, path in paths.items():
        run, multiple = (runners.torch_bf16_runner if name == "bf16" else runners.onnx_runner)(path, threads)
        runners.run_bucketed(run, ids[:64], mask[:64], multiple=multiple)  # warm-up: first-call allocations
        t0 = time.perf_counter()
        pred = runners.run_bucketed(run, ids, mask, multiple=multiple).argmax(1)
        seconds = time.perf_counter() - t0
        f1 = macro_f1(pred)
        v = {"agreement": float((pred == ref).mean()) if len(pred) else 1.0, "macro_f1": f1,
             "f1_drop": (ref_f1 - f1) if f1 is not None and ref_f1 is not None else 0.0,
             "texts_per_s": len(texts) / seconds if seconds > 0 else None, "bytes": _bytes(path)}
        record["variants"][name] = v
    served = pick(record["variants"], min_agreement, max_f1_drop)
    record["served"] = served
    record["speedup_vs_fp32"] = ((record["variants"][served]["texts_per_s"] or 0)
                                 / (record["variants"]["fp32"]["texts_per_s"] or 1))
    return paths[served], record
