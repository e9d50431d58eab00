"""Scoring, sentiment report (spikes, hot topics, HTML) and drift report on a generated lake."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitoring import topics
from monitoring.config import ReportConfig
from monitoring.drift import drift_report
from monitoring.scoring import ScoringError, day_dir, score_day
from monitoring.sentiment import sentiment_report
from ops import cli
from tests.monitoring.conftest import CRISIS, NORMAL, SHIFT
from ugc import lake, registry, storage
from ugc.errors import ConfigError


def nightly_main(argv: list[str]) -> int:
    return cli.main(["report", *argv])

LABELS = ["negative", "neutral", "positive"]


def _cfg(env, day, tmp_path, **kw):
    # torch in process: these tests are about the reports; the served release in process is in test_served.py
    return ReportConfig.from_dict({"lake_uri": env["lake"], "day": str(day), "scoring": "inprocess",
                                   "inprocess_model": "torch", "reports_uri": str(tmp_path / "reports"), **kw})


def _write_scores(cfg: ReportConfig, day, negative_share: float, seed: int = 0) -> None:
    """Constructed scores with an exact negative share for one day's partition."""
    ids = lake.read_partition(lake.partition_uri(cfg.lake_uri, day), columns=["post_id"])["post_id"]
    n = len(ids)
    rng = np.random.default_rng(seed)
    labels = np.array(["positive"] * n, dtype=object)
    labels[rng.choice(n, round(negative_share * n), replace=False)] = "negative"
    probs = np.array([[0.9, 0.05, 0.05] if lab == "negative" else [0.05, 0.05, 0.9] for lab in labels], np.float32)
    cols = {"post_id": ids, "label": pa.array(labels.tolist()), **{f"p_{lab}": probs[:, i] for i, lab in enumerate(LABELS)},
            "confidence": probs.max(1)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    d = day_dir(cfg, str(day))
    storage.write_bytes(storage.join(d, "scores.parquet"), buf.getvalue())
    storage.write_bytes(storage.join(d, "scores.json"), json.dumps(
        {"day": str(day), "labels": LABELS, "model_version": "constructed", "scoring": "test"}).encode())


def test_terms_cover_chinese_and_english_without_noise():
    t = topics.terms("Pixel电池起火了 [URL] battery fire is the worst 13800000000")
    assert {"电池", "电池起火", "池起火", "pixel", "battery fire", "battery", "worst"} <= t
    assert not any("URL" in x or "url" in x or x.isdigit() for x in t)
    assert "the" not in t and not any(x.endswith("了") for x in t)  # stop words / particles


def test_hot_topics_rank_a_new_story_and_ignore_noise():
    base = [({"手机": 100, "咖啡": 50}, 1000, 0)] * 3
    today = Counter({"电池起火": 300, "电池起": 300, "池起火": 295, "手机": 105, "偶然词": 6})
    hot = topics.hot_topics(today, 1000, base, min_z=4)
    assert [h["term"] for h in hot] == ["电池起火"]  # its fragments are folded in; 手机 is steady; 6 posts is noise
    assert hot[0]["lift"] > 100
    # A term missing from a truncated baseline list may have had up to the cut-off count: not news.
    truncated = [({"手机": 100}, 1000, 40)] * 3
    assert topics.hot_topics(Counter({"常见词": 45, "电池起火": 300}), 1000, truncated)[0]["term"] == "电池起火"
    assert [h["term"] for h in topics.hot_topics(Counter({"常见词": 45}), 1000, truncated)] == []
    assert topics.hot_topics(Counter({"常见词": 45}), 1000, [({"手机": 100}, 1000, 0)] * 3)  # untruncated: new
    assert topics.top_terms(Counter({"a": 5, "b": 3, "c": 1}), 2) == ({"a": 5, "b": 3}, 3)
    assert topics.top_terms(Counter({"a": 5}), 2) == ({"a": 5}, 0)
    # Without a baseline nothing has a z: terms rank by count.
    assert [h["term"] for h in topics.hot_topics(Counter({"a词": 9, "b词": 20}), 100, [])][:1] == ["b词"]


def test_score_day_inprocess_matches_the_registered_model(mon_lake, tmp_path):
    from ugc.inference import load_classifier, predict_probs

    cfg = _cfg(mon_lake, NORMAL[2], tmp_path, inprocess_bf16=False)
    r = score_day(cfg)
    assert r["inprocess"] == {"model": "torch", "dtype": "fp32"}
    table = lake.read_partition(lake.partition_uri(cfg.lake_uri, NORMAL[2]))
    assert r["rows"] == table.num_rows and r["model_version"] == mon_lake["version"]
    scores = pq.read_table(io.BytesIO(storage.read_bytes(r["scores_uri"])))
    assert scores["post_id"].to_pylist() == table["post_id"].to_pylist()
    model, tok, labels, max_len = load_classifier(registry.fetch_cached(cfg.registry, mon_lake["version"]))
    ref = predict_probs(model, tok, table["text"].to_pylist()[:50], max_len)
    got = np.stack([scores[f"p_{lab}"].to_numpy()[:50] for lab in labels], 1)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_repeated_texts_are_scored_once_and_every_post_gets_its_scores(mon_lake, tmp_path):
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day
    from ugc.inference import load_classifier, predict_probs

    # Short stock posts repeat legitimately (ingest keeps them): "好", "lol", "+1".
    texts = ["好", "lol", "好", "太差了真的", "lol", "好", "+1", "never again, worst airline", "+1", "好"]
    day = "2026-12-01"
    rows = [{"post_id": f"r{i}", "platform": "weibo", "author_id": f"u{i}", "text": t,
             "created_at": f"{day}T08:00:{i:02d}Z"} for i, t in enumerate(texts)]
    landing = str(tmp_path / "landing")
    storage.write_bytes(f"{landing}/dt={day}/a.jsonl",
                        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    s = ingest_day(IngestConfig.from_dict({"lake_uri": str(tmp_path / "lake"), "day": day}), f"{landing}/dt={day}")
    assert s["rows"] == len(texts)
    r = score_day(_cfg(mon_lake, day, tmp_path, inprocess_bf16=False), partition_uri=s["partition_uri"])
    assert (r["rows"], r["unique_texts"]) == (len(texts), len(set(texts)))
    scores = pq.read_table(io.BytesIO(storage.read_bytes(r["scores_uri"])))
    kept = lake.read_partition(s["partition_uri"], columns=["post_id", "text"])
    assert scores["post_id"].to_pylist() == kept["post_id"].to_pylist()
    model, tok, labels, max_len = load_classifier(registry.fetch_cached(mon_lake["registry"], mon_lake["version"]))
    ref = predict_probs(model, tok, kept["text"].to_pylist(), max_len)
    np.testing.assert_allclose(np.stack([scores[f"p_{lab}"].to_numpy() for lab in labels], 1), ref, atol=1e-5)
    assert scores["label"].to_pylist() == [labels[i] for i in ref.argmax(1)]


def test_inprocess_scoring_runs_bf16_only_where_it_agrees_with_fp32(mon_lake, tmp_path, monkeypatch):
    from monitoring import scoring
    from ugc.inference import cpu_bf16, load_classifier, predict_probs

    model_dir = registry.fetch_cached(mon_lake["registry"], mon_lake["version"])
    texts = lake.read_partition(lake.partition_uri(mon_lake["lake"], NORMAL[1]), columns=["text"])["text"].to_pylist()
    fp32, tok, labels, max_len = load_classifier(model_dir)
    ref = predict_probs(fp32, tok, texts, max_len)

    def scores(r):
        t = pq.read_table(io.BytesIO(storage.read_bytes(r["scores_uri"])))
        return np.stack([t[f"p_{lab}"].to_numpy() for lab in labels], 1)

    r = score_day(_cfg(mon_lake, NORMAL[1], tmp_path / "a", bf16_check_rows=200))
    if not cpu_bf16():
        assert r["inprocess"]["dtype"] == "fp32" and "bf16_skipped" in r["inprocess"]
        pytest.skip("no native bf16 on this CPU: the fp32 fallback was checked")
    how = r["inprocess"]
    assert how["bf16_check_rows"] == 200 and 0 <= how["bf16_agreement"] <= 1
    assert how["dtype"] == ("bf16" if how["bf16_agreement"] >= 0.995 else "fp32")
    if how["dtype"] == "bf16":  # bf16's own numbers, close to fp32's
        bf16 = predict_probs(load_classifier(model_dir, bf16=True)[0], tok, texts, max_len)
        np.testing.assert_allclose(scores(r), bf16, atol=1e-5)
        assert np.abs(scores(r) - ref).max() < 0.05
    # A bf16 that disagrees with fp32 on the sample never scores the day: fp32 does, and the record says why.
    monkeypatch.setattr(scoring, "label_agreement", lambda *a: 0.9)
    r = score_day(_cfg(mon_lake, NORMAL[1], tmp_path / "b"))
    assert r["inprocess"] == {"model": "torch", "dtype": "fp32", "bf16_agreement": 0.9,
                              "bf16_check_rows": len(set(texts))}
    np.testing.assert_allclose(scores(r), ref, atol=1e-5)


def test_label_agreement_counts_equal_argmax():
    from ugc.inference import label_agreement

    probs = {"a": [0.9, 0.1], "b": [0.2, 0.8], "c": [0.6, 0.4]}
    flipped = {"a": [0.1, 0.9], "b": [0.2, 0.8], "c": [0.6, 0.4]}
    assert label_agreement(lambda t: [probs[x] for x in t], lambda t: [flipped[x] for x in t], list("abc")) == \
        pytest.approx(2 / 3)
    assert label_agreement(lambda t: [], lambda t: [], []) == 1.0


def test_negative_spike_against_constructed_baselines(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, CRISIS, tmp_path, min_baseline_days=3)
    for i, (day, share) in enumerate(zip(NORMAL, (0.25, 0.27, 0.26), strict=True)):
        _write_scores(cfg, day, share, seed=i)
    _write_scores(cfg, CRISIS, 0.45)
    r = sentiment_report(cfg)
    m = json.loads(storage.read_bytes(r["json_uri"]))
    assert m["spike"]["baseline_days"] == 3 and m["spike"]["baseline_mean"] == pytest.approx(0.26, abs=0.002)
    assert r["spike"] and m["spike"]["z"] > 3 and r["negative_share"] == pytest.approx(0.45, abs=0.002)
    # The crisis story is the top hot term, in Chinese and English, and its terms are one topic.
    terms = [h["term"] for h in m["hot_terms"]]
    assert "电池起火" in terms[:3] and any("battery" in t for t in terms)
    story = m["topics"][0]
    assert story["hot"] and "电池起火" in story["terms"] and "battery fire" in story["terms"]
    assert "电池起火" in story["label"] and "battery fire" in story["label"]
    assert sum(m["counts"].values()) == m["posts"] == sum(sum(v.values()) for v in m["by_platform"].values())
    assert set(m["by_lang"]) <= {"zh", "en", "other"} and all(len(h) == 2 for h in m["by_hour"])
    assert len(m["top_negative"]) == cfg.top_negative
    assert all(not re.search(r"1[3-9]\d{9}|@\w+\.com|https?://", p["text"]) for p in m["top_negative"])
    # Same day, an ordinary negative share: no spike.
    _write_scores(cfg, CRISIS, 0.27)
    assert not sentiment_report(cfg)["spike"]


def test_html_report_is_self_contained_with_charts_and_escaped_text(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, CRISIS, tmp_path)
    for i, day in enumerate(NORMAL + [CRISIS]):
        _write_scores(cfg, day, 0.3, seed=i)
    page = storage.read_bytes(sentiment_report(cfg)["html_uri"]).decode()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    assert page.count("<svg") >= 4 and page.count('class="bar"') > 24 and "polyline" in page
    assert "电池起火" in page and "<td><script" not in page


def test_drift_passes_on_a_normal_day_and_fails_on_a_shifted_one(mon_lake, tmp_path):
    normal = _cfg(mon_lake, NORMAL[2], tmp_path)
    score_day(normal)
    ok = drift_report(normal)
    assert ok["status"] != "fail", ok["summary"]
    shifted = _cfg(mon_lake, SHIFT, tmp_path)
    score_day(shifted)
    bad = drift_report(shifted)
    assert bad["status"] == "fail"
    assert {"lang_psi", "length_psi", "length_ks"} <= set(bad["failed"]), bad["values"]
    assert bad["values"]["embedding_domain_auc"] > ok["values"]["embedding_domain_auc"]
    report = json.loads(storage.read_bytes(bad["json_uri"]))
    assert report["reference"]["data_snapshot_id"] and report["model_version"] == mon_lake["version"]
    page = storage.read_bytes(bad["html_uri"]).decode()
    assert "fail" in page and page.count("<svg") == 3
    # The reference profile is cached per model version and source (torch here: scoring in process).
    assert storage.exists(storage.join(normal.reports, "_reference", mon_lake["version"], "torch", "profile.json"))
    assert report["encoder"] == {"source": "torch", "fallback": None, "release": None}


def test_missing_inputs_and_bad_config_fail_clearly(mon_lake, tmp_path):
    with pytest.raises(ScoringError, match="no published partition"):
        score_day(_cfg(mon_lake, "2025-01-01", tmp_path))
    with pytest.raises(ScoringError, match="no production model"):
        score_day(_cfg(mon_lake, NORMAL[0], tmp_path, registry_uri=str(tmp_path / "empty")))
    with pytest.raises(FileNotFoundError, match="run scoring first"):
        sentiment_report(_cfg(mon_lake, NORMAL[1], tmp_path))
    for bad in ({"day": "yesterday"}, {"scoring": "magic"}, {"thresholds": {"nope": [1, 2]}},
                {"thresholds": {"length_psi": [0.3, 0.1]}}, {"colour": "red"}):
        with pytest.raises(ConfigError):
            ReportConfig.from_dict({"lake_uri": "x", "day": "2026-11-20", **bad})


def test_cli_exit_codes(mon_lake, tmp_path, capsys):
    base = ["--lake", mon_lake["lake"], "--scoring", "inprocess", "--set", f"reports_uri={tmp_path / 'r'}"]
    assert nightly_main([*base, "--day", str(SHIFT)]) == 4  # drift failed: a retrain is due
    out = json.loads(capsys.readouterr().out)
    assert out["drift"]["status"] == "fail" and out["sentiment"]["posts"] > 0
    assert nightly_main([*base, "--day", "2026-02-30"]) == 2


def test_a_drifted_days_template_fragments_are_a_few_topics_not_twenty_terms(mon_lake, tmp_path):
    cfg = _cfg(mon_lake, SHIFT, tmp_path)
    for i, day in enumerate(NORMAL + [CRISIS, SHIFT]):
        _write_scores(cfg, day, 0.3, seed=i)
    m = json.loads(storage.read_bytes(sentiment_report(cfg)["json_uri"]))
    hot = [t for t in m["topics"] if t["hot"]]
    print([(t["label"], t["posts"], len(t["terms"])) for t in hot])
    assert len(m["hot_terms"]) == cfg.top_topics  # twenty fragments ...
    assert 1 <= len(hot) <= 4 and sum(len(t["terms"]) for t in hot) >= cfg.top_topics  # ... a few topics
    assert len({t["id"] for t in m["topics"]}) == len(m["topics"])
