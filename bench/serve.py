"""Serving throughput and latency: the Triton ``sentiment`` ensemble over gRPC vs an in-process
``transformers`` text-classification pipeline, same model, same machine, same texts, one run.

Triton is measured at several client concurrencies (each request carries --request-batch texts);
the pipeline at several batch sizes, and its best is the baseline. Prints texts/s, p50/p99 latency
per request, and each Triton setting's throughput as a ratio to the best pipeline. Triton runs twice:
the fp32 graph alone ("before"), then the variant deploy chooses by measurement ("after", with the
chosen variant's agreement with torch and macro-F1 drop on the frozen test set printed beside it).
After each deploy the same release runs in process (``monitoring.served``, as the nightly scorer runs it): the gap
between it and Triton is what gRPC, the ensemble and the dynamic batcher cost.
Usage: python bench/serve.py --registry DATA/lake/registry/sentiment [--texts 2000] [--variant-sets 'fp32;fp32,int8']
       [--request-batches 8,64]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import date

import numpy as np


def _texts(n: int) -> list[str]:
    from ingestion.synth import generate_records

    return [r["text"].strip() for r in generate_records(date(2026, 11, 20), n, seed=7)]


def bench_pipeline(model_dir: str, texts: list[str], batch: int) -> dict:
    """The same model in-process through ``transformers.pipeline``; a routed model gets one pipeline per expert
    and each batch is split by the route Triton uses (ugc.lang), so both sides do the same work."""
    from transformers import pipeline

    from ugc import lang, registry

    routes = registry.read_routes(model_dir)
    keys = list(routes["experts"]) if routes else [lang.DEFAULT_EXPERT]
    dirs = {k: lang.expert_dir(model_dir, k) if routes else model_dir for k in keys}
    clfs = {k: pipeline("text-classification", model=d, tokenizer=d, device="cpu") for k, d in dirs.items()}

    def classify(chunk: list[str]) -> None:
        route = lang.route(keys, chunk) if routes else [lang.DEFAULT_EXPERT] * len(chunk)
        for k, clf in clfs.items():
            part = [t for t, r in zip(chunk, route, strict=True) if r == k]
            if part:
                clf(part, batch_size=batch, truncation=True)

    classify(texts[:batch])  # warm-up
    lat = []
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        s = time.perf_counter()
        classify(texts[i:i + batch])
        lat.append(time.perf_counter() - s)
    return {"texts_per_s": len(texts) / (time.perf_counter() - t0), "p50_ms": 1e3 * np.percentile(lat, 50),
            "p99_ms": 1e3 * np.percentile(lat, 99)}


def bench_triton(url: str, texts: list[str], concurrency: int, request_batch: int) -> dict:
    from ugc.sentiment_client import SentimentClient

    chunks = [texts[i:i + request_batch] for i in range(0, len(texts), request_batch)]
    lat: list[float] = []
    lock, next_i = threading.Lock(), [0]

    def worker():
        with SentimentClient(url, batch_size=request_batch, timeout_s=60) as c:
            c.classify(chunks[0])  # warm the connection
            while True:
                with lock:
                    if next_i[0] >= len(chunks):
                        return
                    chunk = chunks[next_i[0]]
                    next_i[0] += 1
                s = time.perf_counter()
                c.classify(chunk)
                with lock:
                    lat.append(time.perf_counter() - s)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"texts_per_s": len(texts) / (time.perf_counter() - t0), "p50_ms": 1e3 * np.percentile(lat, 50),
            "p99_ms": 1e3 * np.percentile(lat, 99)}


def bench_release(repo: str, card: dict, texts: list[str]) -> float:
    """The release Triton serves, run in this process as the nightly scorer runs it (one copy per core, the whole
    list at once): the same model files and code without gRPC, the ensemble or the dynamic batcher."""
    import os

    from monitoring.served import open_release

    release = open_release(repo, card["version"], instances=len(os.sched_getaffinity(0)))
    release.probs(texts[:64])
    t0 = time.perf_counter()
    release.probs(texts)
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True, help="registry with a production sentiment model")
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--concurrency", default="1,4,8,16")
    ap.add_argument("--request-batches", default="8", help="texts per gRPC request, ','-separated: 8 is an "
                    "interactive caller; 64 is what the nightly scorer and the pipeline's best batch send")
    ap.add_argument("--pipeline-batches", default="1,8,32,64")
    ap.add_argument("--variant-sets", default=None, help="';'-separated variant lists deployed in turn (default: "
                    "'fp32;' then every variant), e.g. 'fp32;fp32,int8,bf16;fp32,int8,bf16,cascade' for a before "
                    "and after in one run")
    a = ap.parse_args()
    from serving.config import DeployConfig
    from serving.sentiment_deploy import deploy, experts_of, summary
    from serving.server import TritonServer
    from serving.variants import VARIANTS
    from ugc import registry

    texts = _texts(a.texts)
    card = registry.production(a.registry)
    print(f"model {card['version']} ({card['base_model']}), {len(texts)} texts")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = registry.fetch(a.registry, card["version"], f"{tmp}/model")
        base = {b: bench_pipeline(model_dir, texts, int(b)) for b in a.pipeline_batches.split(",")}
        for b, r in base.items():
            print(f"pipeline batch={b:>3}: {r['texts_per_s']:8.1f} texts/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms")
        best_b, best = max(base.items(), key=lambda kv: kv[1]["texts_per_s"])
        with TritonServer(f"{tmp}/repo") as server:
            sets = a.variant_sets or "fp32;" + ",".join(VARIANTS)
            for variants in ([v for v in vs.split(",") if v] for vs in sets.split(";")):
                out = deploy(DeployConfig(registry_uri=a.registry, repo_uri=server.repo, triton_url=server.grpc_url,
                                          variants=variants))
                for key, e in experts_of(out).items():  # a routed model: one record per language expert
                    rec = e["variants"]
                    if rec:
                        v = rec["variants"][rec["served"]]
                        print(f"deploy chose {rec['served']} for expert {key}: agreement with torch "
                              f"{v['agreement']:.4f}, macro-F1 drop {100 * v['f1_drop']:+.2f} pt on {rec['rows']} "
                              f"frozen-test rows, measured x{rec['speedup_vs_fp32']:.2f} vs fp32 "
                              + str({k: round(x['texts_per_s'] or 0, 1) for k, x in rec['variants'].items()})
                              + "; worst source: " + str({k: (x["worst_slice"]["source"],
                                                               round(x["worst_slice"]["agreement"], 4))
                                                           for k, x in rec["variants"].items() if x.get("worst_slice")}))
                served = "+".join(f"{k}:{v}" for k, v in summary(out)["variants"].items())
                for rb in (int(x) for x in a.request_batches.split(",")):
                    for c in (int(x) for x in a.concurrency.split(",")):
                        r = bench_triton(server.grpc_url, texts, c, rb)
                        ratio = r["texts_per_s"] / best["texts_per_s"]
                        print(f"triton[{served}] conc={c:>3} x{rb}: {r['texts_per_s']:8.1f} texts/s  "
                              f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  ratio vs pipeline(batch={best_b}) "
                              f"{ratio:.2f}x", flush=True)
                rate = bench_release(server.repo, card, texts)
                print(f"  same release in process, no gRPC (monitoring.served): {rate:8.1f} texts/s, ratio vs pipeline "
                      f"{rate / best['texts_per_s']:.2f}x: Triton's own cost is the gap to it", flush=True)


if __name__ == "__main__":
    main()
