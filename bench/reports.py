"""Nightly report cost vs posts per day: scoring excluded (100k, 1M) and included (smaller days).

Each size is a generated day run through the real ingest into a fresh lake, after a fixed 20k-post
baseline day. "Excluded": scores are constructed from the generated labels (the model's cost taken
out), then the sentiment + drift reports run. "Included": ``score_day`` with the production model
first (``--scoring inprocess``, or ``triton`` with ``--triton-url``). Prints seconds, posts/s, and each
time as a ratio to the smallest size's, next to the ratio of sizes: equal ratios mean linear cost.
Usage: python bench/reports.py --registry REG [--sizes 100000,1000000] [--score-sizes 2000,10000]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from datetime import date, timedelta

import numpy as np

BASE_DAY = date(2026, 11, 1)


def make_day(lake_uri: str, landing: str, day: date, posts: int) -> None:
    from ingestion import synth
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day

    synth.generate_day(landing, day, posts, seed=11, bad_rate=0.0, dup_rate=0.0)
    ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), f"{landing}/dt={day}")


def constructed_scores(cfg, labels: list[str]) -> None:
    """Scores from the generated labels (unlabelled posts drawn at random): the model's cost left out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from monitoring.scoring import day_dir
    from ugc import lake, storage

    t = lake.read_partition(lake.partition_uri(cfg.lake_uri, cfg.date), columns=["post_id", "label"])
    rng = np.random.default_rng(0)
    idx = {lab: i for i, lab in enumerate(labels)}
    truth = np.array([idx.get(v, -1) for v in t["label"].to_pylist()])
    truth[truth < 0] = rng.integers(0, len(labels), int((truth < 0).sum()))
    probs = rng.dirichlet(np.ones(len(labels)), t.num_rows).astype(np.float32) * 0.3
    probs[np.arange(t.num_rows), truth] += 0.7
    cols = {"post_id": t["post_id"], "label": pa.array([labels[i] for i in probs.argmax(1)]),
            **{f"p_{lab}": probs[:, i] for i, lab in enumerate(labels)}, "confidence": probs.max(1)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf)
    storage.write_bytes(f"{day_dir(cfg)}/scores.parquet", buf.getvalue())
    storage.write_bytes(f"{day_dir(cfg)}/scores.json", json.dumps(
        {"day": cfg.day, "labels": labels, "model_version": "constructed", "scoring": "constructed"}).encode())


def run(a, sizes: list[int], include_scoring: bool) -> list[tuple[int, float]]:
    from monitoring.config import ReportConfig
    from monitoring.drift import drift_report
    from monitoring.scoring import score_day
    from monitoring.sentiment import _terms_for, sentiment_report
    from ugc import registry

    labels = registry.production(a.registry)["labels"]
    reports = tempfile.mkdtemp(prefix="ugc-bench-reports-out-")  # shared: the reference profile is cached once
    out = []
    for k, n in enumerate(sizes):
        root = tempfile.mkdtemp(prefix="ugc-bench-reports-")
        lake_uri, landing = f"{root}/lake", f"{root}/landing"
        day = BASE_DAY + timedelta(days=1)
        make_day(lake_uri, landing, BASE_DAY, 20_000)
        make_day(lake_uri, landing, day, n)
        cfg = ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(day), "registry_uri": a.registry,
                                      "scoring": a.scoring, "triton_url": a.triton_url, "baseline_days": 1,
                                      "reports_uri": reports,
                                      "min_baseline_days": 1})
        _terms_for(cfg, str(BASE_DAY))  # the baseline day's term counts exist before the nightly run
        if not include_scoring:
            constructed_scores(cfg, labels)
        if k == 0:  # one warm-up: model load, reference profile (cached per model version), imports
            if include_scoring:
                score_day(cfg)
            drift_report(cfg)
        t0 = time.perf_counter()
        if include_scoring:
            score_day(cfg)
        t_score = time.perf_counter() - t0
        sentiment_report(cfg)
        t_sent = time.perf_counter() - t0 - t_score
        drift_report(cfg)
        total = time.perf_counter() - t0
        print(f"{'incl' if include_scoring else 'excl'} scoring {n:>9,} posts: {total:8.2f}s = {n / total:10,.0f} posts/s"
              f"  (scoring {t_score:.2f}s, sentiment {t_sent:.2f}s, drift {total - t_score - t_sent:.2f}s)", flush=True)
        out.append((n, total))
    n0, t0_ = out[0]
    for n, t in out[1:]:
        print(f"  {n:,} vs {n0:,}: size x{n / n0:.1f}, time x{t / t0_:.2f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True, help="registry with a production sentiment model")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--score-sizes", default="2000,10000")
    ap.add_argument("--scoring", choices=("inprocess", "triton"), default="inprocess")
    ap.add_argument("--triton-url", default="127.0.0.1:8001")
    a = ap.parse_args()
    import logging

    logging.disable(logging.INFO)
    run(a, [int(x) for x in a.sizes.split(",")], include_scoring=False)
    run(a, [int(x) for x in a.score_sizes.split(",")], include_scoring=True)


if __name__ == "__main__":
    main()
