"""Nightly report cost vs posts per day: scoring excluded (100k, 1M) and included (smaller days).

Each size is a generated day run through the real ingest into a fresh lake, after a fixed 20k-post
baseline day. "Excluded": scores are constructed from the generated labels (the model's cost taken
out), then the sentiment + drift reports run. "Included": ``score_day`` with the production model
first (``--scoring inprocess``, or ``triton`` with ``--triton-url``). In process it runs the release deploy
published (``--inprocess-model served``, from ``--model-repository``) or torch; torch fp32 (the baseline) and torch
bf16 (the earlier default) score the same day in the same process too, each with its ratio. Prints seconds, posts/s, and each
time as a ratio to the smallest size's, next to the ratio of sizes: equal ratios mean linear cost.

Public-opinion features (``--opinion-sizes``): a crisis day (20 % of posts on one story, an influencer
drawing replies) after a normal baseline day; times hot terms, topic clustering, opinion leaders and the
incremental profile update separately, each size in a fresh process so its peak RSS is its own.
Drift's measuring path (``--drift-only``, needs ``--triton-url`` with the production model deployed): the drift
report of one day in a fresh process per run, as an Airflow task runs it, measured by torch in process (the
baseline) and by the served model over gRPC; first with the reference profile to build, then cached. Prints
seconds from interpreter start to report, peak RSS, and whether torch was imported.
Usage: python bench/reports.py --registry REG [--sizes 100000,1000000] [--score-sizes 2000,10000]
       python bench/reports.py --opinion-only [--opinion-sizes 100000,1000000]
       python bench/reports.py --registry REG --drift-only --triton-url HOST:PORT [--drift-posts 20000]
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


def make_day(lake_uri: str, landing: str, day: date, posts: int, **kw) -> None:
    from ingestion import synth
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day

    synth.generate_day(landing, day, posts, seed=11, bad_rate=0.0, dup_rate=0.0, **kw)
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
                                      "inprocess_model": a.inprocess_model, "model_repository": a.model_repository,
                                      "reports_uri": reports,
                                      "min_baseline_days": 1})
        _terms_for(cfg, str(BASE_DAY))  # the baseline day's term counts exist before the nightly run
        if not include_scoring:
            constructed_scores(cfg, labels)
        if k == 0:  # one warm-up: model load, reference profile (cached per model version), imports
            if include_scoring:
                score_day(cfg)
            drift_report(cfg)
        base = ""
        refs = []  # in process, torch fp32 (the baseline) and bf16 (the earlier default): same day, same process
        if include_scoring and a.scoring == "inprocess":
            upds = [{"inprocess_model": "torch", "inprocess_bf16": False}]
            if a.inprocess_model == "served":  # (with torch, bf16 is the run measured below)
                upds.append({"inprocess_model": "torch"})
            for upd in upds:
                t0 = time.perf_counter()
                refs.append((score_day(cfg.model_copy(update=upd))["inprocess"], time.perf_counter() - t0))
        t0 = time.perf_counter()
        if include_scoring:
            how = score_day(cfg)["inprocess"]
        t_score = time.perf_counter() - t0
        if include_scoring and a.scoring == "inprocess":
            base = "; scored by " + (f"the served release {how['release']} ({how['variant']})" if how["model"] == "served"
                                     else f"torch {how['dtype']} (bf16 agreement {how.get('bf16_agreement', '-')})")
            for h, t in refs:  # named by the dtype that scored: bf16 falls back to fp32 where it disagrees
                base += f"; torch {h['dtype']} {t:.2f}s = {n / t:,.0f} posts/s, x{t / t_score:.2f}"
        sentiment_report(cfg)
        t_sent = time.perf_counter() - t0 - t_score
        drift_report(cfg)
        total = time.perf_counter() - t0
        print(f"{'incl' if include_scoring else 'excl'} scoring {n:>9,} posts: {total:8.2f}s = {n / total:10,.0f} posts/s"
              f"  (scoring {t_score:.2f}s, sentiment {t_sent:.2f}s, drift {total - t_score - t_sent:.2f}s{base})", flush=True)
        out.append((n, total))
    n0, t0_ = out[0]
    for n, t in out[1:]:
        print(f"  {n:,} vs {n0:,}: size x{n / n0:.1f}, time x{t / t0_:.2f}")
    return out


def opinion_one(n: int) -> dict:
    """One size in this (fresh) process: seconds per step and peak RSS."""
    import logging
    import resource

    from monitoring import opinion, topics
    from monitoring.config import ReportConfig
    from monitoring.profiles import update_profiles
    from monitoring.scoring import read_scores
    from monitoring.sentiment import _terms_for
    from ugc import lake

    logging.disable(logging.INFO)
    root = tempfile.mkdtemp(prefix="ugc-bench-opinion-")
    lake_uri, landing, day = f"{root}/lake", f"{root}/landing", BASE_DAY + timedelta(days=1)
    make_day(lake_uri, landing, BASE_DAY, 20_000)
    make_day(lake_uri, landing, day, n, scenario="crisis", crisis_share=0.2)
    cfg = ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(day), "baseline_days": 1, "min_baseline_days": 1})
    trailing = {str(BASE_DAY): _terms_for(cfg, str(BASE_DAY))}
    constructed_scores(cfg, ["negative", "neutral", "positive"])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = {}
    t0 = time.perf_counter()
    posts = lake.read_partition(lake.partition_uri(lake_uri, day), columns=["post_id", "author_id", "parent_id", "text"])
    neg = np.array(read_scores(cfg)[0]["label"].to_pylist(), dtype=object) == "negative"
    texts = posts["text"].to_pylist()
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    df, _, df_neg = topics.document_frequencies(texts, neg)
    hot = topics.hot_topics(df, n, [v for v in trailing.values() if v], top=cfg.topic_candidates, min_z=cfg.hot_topic_z)
    t["hot terms"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows, members = opinion.topics_for_day(cfg, texts, neg, hot, df, trailing)
    t["topics"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = posts.select(["post_id", "author_id", "parent_id"]).to_pandas()
    opinion.leaders_for_day(cfg, frame, neg, rows, members)
    t["leaders"] = time.perf_counter() - t0
    opinion.write(cfg, rows, members, frame["post_id"].to_numpy())
    del frame, texts, df, df_neg
    t0 = time.perf_counter()
    prof = update_profiles(cfg)
    t["profiles"] = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"posts": n, "seconds": t, "topics": sum(r["hot"] for r in rows), "authors": prof["authors"],
            "peak_rss_mb": rss / 1024, "rss_before_mb": rss0 / 1024}


def run_opinion(sizes: list[int]) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    out = []
    for n in sizes:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
            r = ex.submit(opinion_one, n).result()
        s = r["seconds"]
        work = sum(v for k, v in s.items() if k != "read")
        print(f"opinion {n:>9,} posts: {work:7.2f}s = {n / work:9,.0f} posts/s  "
              + ", ".join(f"{k} {v:.2f}s" for k, v in s.items())
              + f"; {r['topics']} hot topic(s), {r['authors']:,} profiles, peak RSS {r['peak_rss_mb']:,.0f} MB", flush=True)
        out.append((n, work))
    n0, t0 = out[0]
    for n, t in out[1:]:
        print(f"  {n:,} vs {n0:,}: size x{n / n0:.1f}, time x{t / t0:.2f}")


def drift_one(lake_uri: str, day: str, registry_uri: str, reports: str, scoring: str, url: str) -> dict:
    """One drift report in this (fresh) process: seconds including imports, peak RSS, torch imported or not."""
    import logging
    import resource
    import sys

    t0 = time.perf_counter()
    logging.disable(logging.WARNING)
    from monitoring.config import ReportConfig
    from monitoring.drift import drift_report

    cfg = ReportConfig.from_dict({"lake_uri": lake_uri, "day": day, "registry_uri": registry_uri,
                                  "reports_uri": reports, "scoring": scoring, "triton_url": url})
    r = drift_report(cfg)
    return {"seconds": time.perf_counter() - t0, "status": r["status"], "values": r["values"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": "torch" in sys.modules}


def run_drift(a) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ugc import registry

    root = tempfile.mkdtemp(prefix="ugc-bench-drift-")
    lake_uri, day = f"{root}/lake", BASE_DAY + timedelta(days=1)
    make_day(lake_uri, f"{root}/landing", day, a.drift_posts)
    from monitoring.config import ReportConfig

    constructed_scores(ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(day), "reports_uri": f"{root}/r"}),
                       registry.production(a.registry)["labels"])
    seconds = {}
    for scoring, source in (("inprocess", "torch"), ("triton", "Triton")):
        for run_ in ("reference built", "reference cached"):
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
                r = ex.submit(drift_one, lake_uri, str(day), a.registry, f"{root}/r", scoring, a.triton_url).result()
            seconds[(source, run_)] = r["seconds"]
            print(f"drift {a.drift_posts:,} posts, {source:6} {run_:16}: {r['seconds']:6.2f}s, peak RSS "
                  f"{r['peak_rss_mb']:,.0f} MB, torch imported: {r['torch']}, {r['status']}, domain AUC "
                  f"{r['values']['embedding_domain_auc']:.3f}", flush=True)
    for run_ in ("reference built", "reference cached"):
        print(f"  {run_}: Triton x{seconds[('torch', run_)] / seconds[('Triton', run_)]:.2f} the torch path's speed")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", help="registry with a production sentiment model (all but --opinion-only)")
    ap.add_argument("--opinion-sizes", default="100000,1000000")
    ap.add_argument("--opinion-only", action="store_true", help="only topics + leaders + profiles")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--score-sizes", default="2000,10000")
    ap.add_argument("--scoring", choices=("inprocess", "triton"), default="inprocess")
    ap.add_argument("--triton-url", default="127.0.0.1:8001")
    ap.add_argument("--inprocess-model", choices=("served", "torch"), default="served",
                    help="in process: the release deploy published (from --model-repository), or torch")
    ap.add_argument("--model-repository", default=None, help="default UGC_MODEL_REPOSITORY")
    ap.add_argument("--drift-only", action="store_true", help="drift's measuring path: torch vs Triton")
    ap.add_argument("--drift-posts", type=int, default=20_000)
    a = ap.parse_args()
    import logging

    from ugc import settings

    a.model_repository = a.model_repository or settings.MODEL_REPOSITORY.get()

    logging.disable(logging.INFO)
    if a.drift_only:
        if not a.registry:
            ap.error("--drift-only needs --registry")
        return run_drift(a)
    run_opinion([int(x) for x in a.opinion_sizes.split(",")])
    if a.opinion_only:
        return
    if not a.registry:
        ap.error("--registry is required unless --opinion-only")
    run(a, [int(x) for x in a.sizes.split(",")], include_scoring=False)
    run(a, [int(x) for x in a.score_sizes.split(",")], include_scoring=True)


if __name__ == "__main__":
    main()
