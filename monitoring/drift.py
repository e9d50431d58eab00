"""Drift of the day's posts against the production model's training data, with pass/warn/fail per metric.

Reference = the training rows the production model was fitted on, in the lake's own mix (registry lineage -> data
manifest -> reference_uri: train.parquet, or the rows before per-expert caps re-balanced languages), less the
public labelled corpora mixed into it (they are not the traffic being watched); its
profile (sampled lengths, language/platform mix, [UNK] rate, embeddings,
predictions) is computed once per model version and cached under ``{reports}/_reference/<version>/<source>/``
(``served-<release>`` for a release run in process).
Current = the day's partition and its scores. Outputs ``drift.json`` and ``drift.html`` per day.
Texts are measured by the served model over Triton, its release in process, or torch (monitoring/encoders.py).
"""

from __future__ import annotations

import io
import json
import logging
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitoring import html, stats
from monitoring.config import ReportConfig
from monitoring.encoders import Encoder, open_encoder, unk_rate
from monitoring.scoring import ScoringUnavailable, day_dir, production_card, read_scores
from ugc import lake, registry, storage
from ugc.splits import read_split
from ugc.triton_client import ServingUnavailable
from ugc.vocab import LANGS, PUBLIC_SOURCES

log = logging.getLogger(__name__)
SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


_DIGITS = re.compile(r"\d+")


def content_texts(texts: list[str]) -> list[str]:
    """Texts with every digit run replaced by "0": ids, dates, prices and floor numbers change daily and
    would make any two days separable without any change in what people write about or how."""
    return [_DIGITS.sub("0", t) for t in texts]


def _sample(table: pa.Table, n: int, seed: int) -> pa.Table:
    if table.num_rows <= n:
        return table
    idx = np.sort(np.random.default_rng(seed).choice(table.num_rows, n, replace=False))
    return table.take(pa.array(idx))


def _counts(values: pa.Array, cats: list[str]) -> list[int]:
    return stats.category_counts(values.to_pylist(), cats).tolist()


def own_traffic(train: pa.Table) -> pa.Table:
    """The training rows that came from the platform's own traffic: public corpora (long reviews, airline tweets)
    mixed in for accuracy would make every normal day look drifted. All rows when the model saw nothing else."""
    own = train.filter(pc.invert(pc.is_in(train["platform"], pa.array(PUBLIC_SOURCES))))
    return own if own.num_rows else train


def reference_rows(manifest: dict) -> tuple[str, pa.Table]:
    """(uri, own-traffic rows) of a data manifest's drift reference: ``reference_uri``, the training rows in the
    lake's mix before per-expert caps (training/data.py); ``train_uri`` in manifests written before it."""
    uri = manifest.get("reference_uri", manifest["train_uri"])
    return uri, own_traffic(read_split(uri))


def reference_profile(cfg: ReportConfig, card: dict, enc: Encoder) -> dict:
    """The production model's training-data profile (cached per model version and encoder source)."""
    source = enc.source if enc.release is None else f"{enc.source}-{enc.release}"
    base = storage.join(cfg.reports, "_reference", card["version"], source)
    try:
        prof = json.loads(storage.read_bytes(storage.join(base, "profile.json")))
        arrays = np.load(io.BytesIO(storage.read_bytes(storage.join(base, "arrays.npz"))))
        return {**prof, **{k: arrays[k] for k in arrays.files}}
    except FileNotFoundError:
        pass
    lineage = registry.lineage(cfg.registry, card["version"])
    manifest = json.loads(storage.read_bytes(lineage["data_manifest_uri"]))
    uri, train = reference_rows(manifest)
    sample = _sample(train, cfg.reference_sample, cfg.seed)
    texts = sample["text"].to_pylist()
    probs = enc.probs(texts)
    texts = content_texts(texts)
    emb = enc.embed(texts[:cfg.embedding_sample])
    platforms = sorted(set(train["platform"].to_pylist()))
    prof = {"version": card["version"], "source": enc.source, "data_snapshot_id": lineage["data_snapshot_id"],
            "rows": train.num_rows, "train_uri": uri, "labels": enc.labels,
            "platforms": platforms + ["(other)"], "lang_counts": _counts(train["lang"], list(LANGS)),
            "platform_counts": _counts(train["platform"], platforms + ["(other)"]),
            "unk_rate": unk_rate(enc.tokenizer, texts)}
    arrays = {"lengths": pc.utf8_length(train["text"]).to_numpy(zero_copy_only=False), "probs": probs,
              "embeddings": emb}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    storage.write_bytes(storage.join(base, "arrays.npz"), buf.getvalue())
    storage.write_bytes(storage.join(base, "profile.json"), json.dumps(prof, indent=1).encode())
    return {**prof, **arrays}


def status_of(cfg: ReportConfig, metric: str, value: float | None) -> str:
    if value is None:
        return "pass"
    warn, fail = cfg.threshold(metric)
    return "fail" if value >= fail else "warn" if value >= warn else "pass"


def drift_report(cfg: ReportConfig, scores_uri: str | None = None) -> dict:
    """Measure every drift metric for the day (scores from ``scores_uri``, default the day's); writes
    drift.json/html and returns status + values."""
    scores, _ = read_scores(cfg, scores_uri=scores_uri)
    card = production_card(cfg)
    try:
        enc = open_encoder(cfg, card["version"], registry.fetch_cached(cfg.registry, card["version"]))
        try:
            return _measure(cfg, card, enc, scores)
        finally:
            enc.close()
    except ServingUnavailable as e:  # retryable, as scoring's
        raise ScoringUnavailable(f"{e} (set scoring=inprocess to measure drift without Triton)") from e


def _measure(cfg: ReportConfig, card: dict, enc: Encoder, scores: pa.Table) -> dict:
    labels = enc.labels
    ref = reference_profile(cfg, card, enc)
    cur = lake.read_partition(lake.partition_uri(cfg.lake_uri, cfg.date), columns=["text", "lang", "platform"])
    if cur.num_rows < 2:
        raise ValueError(f"{cfg.day} has {cur.num_rows} posts: too few to measure drift")
    sample = _sample(cur, cfg.current_sample, cfg.seed + 1)
    texts = content_texts(sample["text"].to_pylist())
    lengths = pc.utf8_length(cur["text"]).to_numpy(zero_copy_only=False)
    cur_probs = np.stack([scores[f"p_{lab}"].to_numpy() for lab in labels], axis=1)
    ref_conf, cur_conf = ref["probs"].max(1), cur_probs.max(1)
    ref_pred = np.bincount(ref["probs"].argmax(1), minlength=len(labels))
    cur_pred = np.bincount(cur_probs.argmax(1), minlength=len(labels))
    cur_lang = _counts(cur["lang"], list(LANGS))
    emb_cur = enc.embed(texts[:cfg.embedding_sample])
    mmd = stats.mmd2_rbf(ref["embeddings"], emb_cur, permutations=cfg.permutations, seed=cfg.seed)
    edges, ref_len, cur_len = stats.binned_counts(ref["lengths"], lengths, 10)
    values = {
        "length_psi": stats.psi_from_counts(ref_len, cur_len),
        "length_ks": stats.ks_statistic(ref["lengths"], lengths),
        "lang_psi": stats.psi_from_counts(ref["lang_counts"], cur_lang),
        "platform_psi": stats.psi_from_counts(ref["platform_counts"], _counts(cur["platform"], ref["platforms"])),
        "unk_rate_delta": unk_rate(enc.tokenizer, texts) - ref["unk_rate"],
        # A significant MMD only: at a few hundred points the estimate of "no drift" is noisy around 0.
        "embedding_mmd2": mmd["mmd2"] if mmd["p_value"] < 0.05 else 0.0,
        "embedding_domain_auc": stats.domain_auc(ref["embeddings"], emb_cur, seed=cfg.seed),
        "prediction_psi": stats.psi_from_counts(ref_pred, cur_pred),
        "prediction_js": stats.js_divergence(ref_pred, cur_pred),
        "confidence_ks": stats.ks_statistic(ref_conf, cur_conf),
    }
    metrics = {k: {"value": float(v), "warn": cfg.threshold(k)[0], "fail": cfg.threshold(k)[1],
                   "status": status_of(cfg, k, v)} for k, v in values.items()}
    overall = max((m["status"] for m in metrics.values()), key=SEVERITY.get)
    report = {
        "day": cfg.day, "status": overall, "model_version": card["version"],
        "reference": {"data_snapshot_id": ref["data_snapshot_id"], "rows": int(ref["rows"]),
                      "train_uri": ref["train_uri"]},
        "current": {"posts": cur.num_rows, "sample": sample.num_rows, "embedding_sample": len(emb_cur)},
        "encoder": {"source": enc.source, "fallback": enc.fallback, "release": enc.release},
        "metrics": metrics, "mmd": mmd,
        "failed": sorted(k for k, m in metrics.items() if m["status"] == "fail"),
        "warned": sorted(k for k, m in metrics.items() if m["status"] == "warn"),
        "distributions": {
            "labels": labels, "prediction": {"reference": ref_pred.tolist(), "current": cur_pred.tolist()},
            "lang": {"categories": list(LANGS), "reference": list(ref["lang_counts"]), "current": cur_lang},
            "length": {"edges": edges.tolist(), "reference": ref_len.tolist(), "current": cur_len.tolist()},
            "mean_confidence": {"reference": float(ref_conf.mean()), "current": float(cur_conf.mean())}},
        "unk_rate": {"reference": ref["unk_rate"], "current": ref["unk_rate"] + values["unk_rate_delta"]},
    }
    report["summary"] = summary(report)
    out = day_dir(cfg)
    storage.write_bytes(storage.join(out, "drift.json"), json.dumps(report, indent=1, default=float).encode())
    storage.write_bytes(storage.join(out, "drift.html"), render(report).encode())
    (log.warning if overall != "pass" else log.info)("%s", report["summary"])
    return {"status": overall, "json_uri": storage.join(out, "drift.json"), "html_uri": storage.join(out, "drift.html"),
            "failed": report["failed"], "warned": report["warned"], "summary": report["summary"],
            "values": {k: round(m["value"], 4) for k, m in metrics.items()}, "model_version": card["version"]}


def summary(r: dict) -> str:
    bad = [f"{k}={r['metrics'][k]['value']:.3f}" for k in r["failed"] + r["warned"]]
    return f"{r['day']}: drift {r['status'].upper()} vs {r['model_version']}" + (f" ({', '.join(bad)})" if bad else "")


def _source(r: dict) -> str:
    e = r.get("encoder") or {}
    what = {"triton": "the served model (Triton)", "torch": "the registered model in process (torch)",
            "served": "the served model's release in process"}
    return what.get(e.get("source"), "the production model") + (f", because {e['fallback']}" if e.get("fallback")
                                                                  else "")


def _shares(v) -> list[float]:
    v = np.asarray(v, dtype=float)
    return (v / v.sum()).tolist() if v.sum() else v.tolist()


def render(r: dict) -> str:
    """The self-contained HTML page of a drift report."""
    d = r["distributions"]
    rows = [[k, m["value"], m["warn"], m["fail"], html.Markup(html.badge(m["status"]))]
            for k, m in r["metrics"].items()]
    length = d["length"]
    labels = [f"≤{e:.0f}" for e in length["edges"]] + ["more"]
    sections = [
        html.cards([("overall", html.badge(r["status"])), ("posts", f"{r['current']['posts']:,}"),
                    ("reference rows", f"{r['reference']['rows']:,}"), ("failed", str(len(r["failed"]))),
                    ("warned", str(len(r["warned"])))]),
        f"<p>{html.escape(r['summary'])}. Reference: training data snapshot "
        f"<code>{html.escape(r['reference']['data_snapshot_id'][:16])}</code> of model "
        f"<code>{html.escape(r['model_version'])}</code>.</p>",
        "<h2>Metrics</h2>", html.table(["metric", "value", "warn ≥", "fail ≥", "status"], rows, numeric={1, 2, 3}),
        "<h2>Distributions (share of posts)</h2>", '<div class="grid">',
        html.histogram_pair("text length (chars)", labels, _shares(length["reference"]), _shares(length["current"])),
        html.histogram_pair("language", d["lang"]["categories"], _shares(d["lang"]["reference"]),
                            _shares(d["lang"]["current"])),
        html.histogram_pair("predicted label", d["labels"], _shares(d["prediction"]["reference"]),
                            _shares(d["prediction"]["current"])),
        "</div>",
        f"<p>Mean confidence: reference {d['mean_confidence']['reference']:.3f}, current "
        f"{d['mean_confidence']['current']:.3f}. [UNK] rate: reference {r['unk_rate']['reference']:.4f}, current "
        f"{r['unk_rate']['current']:.4f}. MMD² {r['mmd']['mmd2']:.4f} (p={r['mmd']['p_value']:.3f}, "
        f"σ={r['mmd']['sigma']:.3g}). Texts measured by {html.escape(_source(r))}.</p>",
    ]
    return html.page(f"Drift report {r['day']}", f"model {r['model_version']}", sections)
