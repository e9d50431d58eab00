"""Serving variants: the accuracy gate picks the fastest passing variant; deploy records and serves it."""

import os

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving import variants
from serving.config import DeployConfig
from serving.sentiment_deploy import deploy, summary
from serving.triton_models import runners
from ugc import registry, storage
from ugc.inference import cpu_bf16


@pytest.mark.parametrize(("int8", "want"), [
    ({"agreement": 0.999, "f1_drop": 0.001, "texts_per_s": 500.0}, "int8"),   # faster and as good
    ({"agreement": 0.990, "f1_drop": 0.000, "texts_per_s": 500.0}, "fp32"),   # changes 1 % of answers
    ({"agreement": 0.999, "f1_drop": 0.010, "texts_per_s": 500.0}, "fp32"),   # loses a point of F1
    ({"agreement": 1.000, "f1_drop": 0.000, "texts_per_s": 90.0}, "fp32"),    # passes, but slower
])
def test_the_fastest_variant_that_passes_the_gate_is_served(int8, want):
    measured = {"fp32": {"agreement": 1.0, "f1_drop": 0.0, "texts_per_s": 100.0}, "int8": dict(int8)}
    assert variants.pick(measured, 0.995, 0.005) == want
    assert measured["fp32"]["passed"] and measured["int8"]["passed"] == (int8["agreement"] >= 0.995
                                                                          and int8["f1_drop"] <= 0.005)


def _ops(path: str) -> set[str]:
    return {n.op_type for n in onnx.load(path).graph.node}


def test_deploy_measures_both_variants_on_the_frozen_test_set_and_publishes_the_chosen_one(tiny_registry, tmp_path):
    repo = str(tmp_path / "repo")
    out = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=repo, variant_eval_rows=300))
    rec = out["variants"]
    card = registry.production(tiny_registry)
    texts, _ = variants.eval_rows(tiny_registry, card, 300)
    measured = {"fp32", "int8", "bf16"} if cpu_bf16() else {"fp32", "int8"}
    assert rec["rows"] == len(texts) > 0 and set(rec["variants"]) == measured
    assert ("bf16" in rec.get("skipped", {})) == (not cpu_bf16())
    fp32, int8 = rec["variants"]["fp32"], rec["variants"]["int8"]
    assert fp32["agreement"] >= 0.995 and fp32["passed"]  # fp32 is torch up to float error
    assert int8["bytes"] < 0.6 * fp32["bytes"] and 0 <= int8["agreement"] <= 1
    assert rec["served"] == variants.pick(rec["variants"], 0.995, 0.005)
    version = storage.join(repo, "sentiment_classifier", str(out["triton_version"]))
    if rec["served"] == "bf16":  # torch weights, no graph
        assert os.path.isfile(f"{version}/hf/model.safetensors") and not os.path.exists(f"{version}/model.onnx")
    else:
        served = f"{version}/model.onnx"
        assert ("MatMulInteger" in _ops(served) or "DynamicQuantizeLinear" in _ops(served)) == (rec["served"] == "int8")
    if "bf16" in rec["variants"]:
        assert rec["variants"]["bf16"]["bytes"] < 0.6 * rec["variants"]["fp32"]["bytes"]
    meta = storage.read_bytes(storage.join(repo, "sentiment", str(out["triton_version"]), "model.json")).decode()
    assert f'"variant": "{rec["served"]}"' in meta
    # fp32 only: nothing is quantised or measured.
    only = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=repo, variants=["fp32"]))
    assert only["variants"] is None
    # A single model reads as one `default` expert in the brief record the DAG returns.
    assert summary(out)["variants"] == {"default": rec["served"]} and summary(only)["variants"] == {"default": "fp32"}
    assert summary(out)["parity_max_abs_diff"] == out["parity"]["max_abs_diff"]
    assert "MatMulInteger" not in _ops(storage.join(repo, "sentiment_classifier", str(only["triton_version"]), "model.onnx"))


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 24), min_size=1, max_size=80), rows=st.integers(1, 9),
       multiple=st.sampled_from([1, 8]))
def test_length_buckets_answer_in_the_callers_order_and_trim_padding(lengths, rows, multiple):
    rng = np.random.default_rng(len(lengths))
    width = 24
    ids = rng.integers(1, 1000, (len(lengths), width))
    mask = (np.arange(width)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    widths = []

    def run(i, m):  # a row's answer depends on its real tokens only, as a classifier's logits do
        widths.append((i.shape[1], int(m.sum(1).max())))
        return np.stack([(i * m).sum(1), m.sum(1)], axis=1)

    got = runners.run_bucketed(run, ids, mask, rows=rows, multiple=multiple)
    np.testing.assert_array_equal(got, run(ids, mask))
    for w, longest in widths[:-1]:  # each sub-batch runs no wider than its longest text, rounded up
        assert max(longest, 1) <= w <= min(width, -(-max(longest, 1) // multiple) * multiple)
    # A runner answering several per-row arrays (logits and embeddings) gets each back in the caller's order.
    logits, emb = runners.run_bucketed(lambda i, m: (run(i, m), run(i, m)[:, :1] * 3), ids, mask, rows=rows,
                                       multiple=multiple)
    np.testing.assert_array_equal(logits, run(ids, mask))
    np.testing.assert_array_equal(emb, run(ids, mask)[:, :1] * 3)
