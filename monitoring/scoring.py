"""Score a day's posts with the production sentiment model: Triton over gRPC, or in-process when asked.

    {reports}/dt=DAY/scores.parquet   post_id, predicted label, one probability column per label, confidence
    {reports}/dt=DAY/scores.json      model version, scoring path, partition snapshot, rows, seconds
"""

from __future__ import annotations

import io
import json
import logging
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monitoring.config import ReportConfig
from ugc import lake, registry, storage
from ugc.inference import cpu_bf16, label_agreement, load_classifier, predict_probs

log = logging.getLogger(__name__)


class ScoringError(RuntimeError):
    """Scoring cannot proceed (no production model, no partition, Triton down)."""


class ScoringUnavailable(ScoringError):
    """Triton stayed unreachable after the client's retries: a later attempt may succeed."""


def day_dir(cfg: ReportConfig, day: str | None = None) -> str:
    return storage.join(cfg.reports, f"dt={day or cfg.day}")


def production_card(cfg: ReportConfig) -> dict:
    card = registry.production(cfg.registry)
    if card is None:
        raise ScoringError(f"no production model in {cfg.registry}: train and promote one first")
    return card


MAX_DEFAULT_INSTANCES = 8  # each copy holds its own sessions (~0.25 GB for the demo's two cascaded experts)


def instances(cfg: ReportConfig) -> int:
    """Served copies to run side by side: the configured count, else one per core this process may use (at
    most ``MAX_DEFAULT_INSTANCES``: a 64-core worker should not hold 64 copies unasked)."""
    if cfg.inprocess_instances:
        return cfg.inprocess_instances
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_INSTANCES))


def open_served(cfg: ReportConfig, version: str):
    """The published release of ``version`` (monitoring.served.Release), or (None, why not)."""
    from monitoring.served import NoRelease, open_release

    try:
        return open_release(cfg.model_repository, version, instances(cfg)), None
    except NoRelease as e:
        log.warning("in process with torch, not the served variant: %s", e)
        return None, str(e)


def _inprocess(cfg: ReportConfig, texts: list[str], version: str) -> tuple[np.ndarray, list[str], dict]:
    """The served release in this process (``inprocess_model`` served): deploy's gated variant, no torch unless
    it is bf16. Otherwise, or when no release exists (the dict says why), torch: bf16 when the CPU runs it
    natively and it agrees with fp32 on an even sample of the day's texts (the same bar as deploy's variant
    gate), else fp32. Says which in the returned dict."""
    info: dict = {}
    if cfg.inprocess_model == "served":
        release, why = open_served(cfg, version)
        if release is not None:
            return release.probs(texts), release.labels, {
                "model": "served", "release": release.release, "variant": release.variant,
                "instances": len(release.copies)}
        info["fallback"] = why
    info["model"] = "torch"
    model_dir = registry.fetch_cached(cfg.registry, version)
    model, tok, labels, max_length = load_classifier(model_dir)
    batch = cfg.batch_size * 2
    info["dtype"] = "fp32"
    if cfg.inprocess_bf16 and not cpu_bf16():
        info["bf16_skipped"] = "this CPU has no native bf16 (AMX/AVX512-BF16)"
    elif cfg.inprocess_bf16:
        fast = load_classifier(model_dir, bf16=True)[0]
        sample = texts[::max(1, len(texts) // cfg.bf16_check_rows)][:cfg.bf16_check_rows]
        agreement = label_agreement(lambda t: predict_probs(model, tok, t, max_length, batch),
                                    lambda t: predict_probs(fast, tok, t, max_length, batch), sample)
        info.update(bf16_agreement=round(agreement, 4), bf16_check_rows=len(sample))
        if agreement >= cfg.bf16_min_agreement:
            model, info["dtype"] = fast, "bf16"
        else:
            log.warning("bf16 agreed with fp32 on %.2f%% of %d posts (< %.2f%%): scoring %s in fp32",
                        100 * agreement, len(sample), 100 * cfg.bf16_min_agreement, cfg.day)
    return predict_probs(model, tok, texts, max_length, batch), labels, info


def predict(cfg: ReportConfig, texts: list[str], version: str) -> tuple[np.ndarray, list[str], dict]:
    """Probabilities for ``texts`` via the configured path, the label order, and how they were computed."""
    if cfg.scoring == "inprocess":
        return _inprocess(cfg, texts, version)
    from ugc.sentiment_client import SentimentClient
    from ugc.triton_client import ServingUnavailable

    try:
        with SentimentClient(cfg.triton_url, cfg.triton_model, cfg.timeout_s, cfg.batch_size) as c:
            # Which registered model answered (deploy writes it into the ensemble's config; None before that).
            return c.probabilities(texts, concurrency=4), c.labels(), {"served_version": c.registry_version()}
    except ServingUnavailable as e:
        raise ScoringUnavailable(f"{e} (set scoring=inprocess to score without Triton)") from e


def score_day(cfg: ReportConfig, partition_uri: str | None = None) -> dict:
    """Score every post of the day's partition (each distinct text once); returns the scores URI and a summary."""
    partition_uri = partition_uri or lake.partition_uri(cfg.lake_uri, cfg.date)
    try:
        manifest = lake.read_manifest(partition_uri)
    except FileNotFoundError as e:
        raise ScoringError(str(e)) from e
    card = production_card(cfg)
    table = lake.read_partition(partition_uri, columns=["post_id", "text"])
    t0 = time.perf_counter()
    unique, how = 0, {}
    if table.num_rows:
        # Each distinct text is scored once (reposts, copypasta, "+1"): the model is a function of the text
        # alone. Arrow's hash encoding keeps this off the per-post Python path.
        enc = pc.dictionary_encode(table["text"].combine_chunks())
        unique = len(enc.dictionary)
        probs, labels, how = predict(cfg, enc.dictionary.to_pylist(), card["version"])
        probs = probs[enc.indices.to_numpy()]
    else:
        labels = list(card["labels"])
        probs = np.zeros((0, len(labels)), np.float32)
    seconds = time.perf_counter() - t0
    cols = {"post_id": table["post_id"], "label": pa.array([labels[i] for i in probs.argmax(1)] if len(probs) else [],
                                                            pa.string())}
    for i, lab in enumerate(labels):
        cols[f"p_{lab}"] = pa.array(probs[:, i], pa.float32())
    cols["confidence"] = pa.array(probs.max(1) if len(probs) else [], pa.float32())
    out = day_dir(cfg)
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="zstd")
    storage.write_bytes(storage.join(out, "scores.parquet"), buf.getvalue())
    served = how.pop("served_version", None)
    if served and served != card["version"]:  # a deploy lagging a promotion: say which model really scored
        log.warning("Triton serves %s, production is %s: %s scored with %s", served, card["version"], cfg.day, served)
    meta = {"day": cfg.day, "rows": table.num_rows, "unique_texts": unique, "labels": labels,
            "model_version": served or card["version"], "production_version": card["version"],
            "scoring": cfg.scoring, "inprocess": how or None,
            "triton_url": cfg.triton_url if cfg.scoring == "triton" else None,
            "partition_uri": partition_uri, "partition_snapshot_id": manifest.get("snapshot_id"),
            "seconds": round(seconds, 3), "posts_per_s": round(table.num_rows / seconds, 1) if seconds else None}
    storage.write_bytes(storage.join(out, "scores.json"), json.dumps(meta, indent=1).encode())
    log.info("scored %d posts of %s with %s via %s in %.1fs", table.num_rows, cfg.day, meta["model_version"],
             cfg.scoring, seconds)
    return {"scores_uri": storage.join(out, "scores.parquet"), **meta}


def read_scores(cfg: ReportConfig, day: str | None = None, scores_uri: str | None = None) -> tuple[pa.Table, dict]:
    """(scores, meta) of a day, or of ``scores_uri`` (a scores.parquet with its scores.json beside it).
    Raises FileNotFoundError when that day was not scored."""
    uri = scores_uri or storage.join(day_dir(cfg, day), "scores.parquet")
    try:
        meta = json.loads(storage.read_bytes(uri[:uri.rfind("/") + 1] + "scores.json"))
        return pq.read_table(io.BytesIO(storage.read_bytes(uri))), meta
    except FileNotFoundError as e:
        raise FileNotFoundError(f"no scores at {uri}: run scoring first") from e
