"""The sentiment training stages, each ``f(config, input_uri) -> small dict`` for CLI, pytest and Airflow.

    prepare_data(cfg, lake_uri)        -> data manifest (train/val/test URIs, lineage, snapshot id)
    train_candidate(cfg, manifest_uri) -> registered candidate version (+ test and baseline metrics)
    gate_candidate(cfg, version)       -> decision vs production on the same frozen test set
    promote_candidate(cfg, gate_uri)   -> new registry index (atomic switch)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

import pyarrow.compute as pc

from training import data
from training.config import TrainConfig
from ugc import lifecycle, registry, storage
from ugc.splits import read_split, write_split

log = logging.getLogger(__name__)


def prepare_data(cfg: TrainConfig, lake_uri: str | None = None) -> dict:
    """Labelled rows of the configured partitions -> leakage-free train/val + the frozen test set."""
    if lake_uri and lake_uri != cfg.lake_uri:
        cfg = cfg.replace(lake_uri=lake_uri)
    m = data.prepare(cfg)
    log.info("data %s: %s", m["snapshot_id"], m["rows"])
    return {k: m[k] for k in ("manifest_uri", "snapshot_id", "test_set_version", "rows")}


def _save_model_dir(out: str, model, tokenizer, cfg: TrainConfig, extra: dict) -> None:
    if tokenizer is None:  # routed (ugc.inference.Routed): experts/<key>/ each with its tokenizer and label map
        model.save_pretrained(out, list(cfg.labels), cfg.max_length)
    else:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    registry.write_label_map(out, list(cfg.labels), cfg.max_length)
    files = {"train_config.json": cfg.to_dict(), **extra}
    for name, obj in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=False, default=str)


def train_candidate(cfg: TrainConfig, manifest_uri: str) -> dict:
    """Fine-tune, evaluate on the held-out set, fit the baseline on the same split, register."""
    from training import baseline, evaluate, experts

    manifest = json.loads(storage.read_bytes(manifest_uri))
    train, val, test = (read_split(manifest[f"{s}_uri"]) for s in ("train", "val", "test"))
    if cfg.teacher:
        train = _distillation_set(cfg, manifest, train, val, test)
    model, tokenizer, summary, base_notes = experts.fit(cfg, train, val)  # one classifier, or one per language
    labels = list(cfg.labels)
    test_metrics = evaluate.evaluate_table(model, tokenizer, test, labels, cfg.max_length, cfg.eval_batch_size)
    reserved = manifest.get("reserved", {})
    test_metrics["reserved"] = evaluate.reserved(evaluate.model_scorer(model, tokenizer, cfg.max_length,
                                                                       cfg.eval_batch_size), reserved, labels)
    base = baseline.fit_and_evaluate(train.filter(pc.is_valid(train["label"])), test, labels, cfg.seed, reserved)
    log.info("test macro-F1 %.4f acc %.4f | baseline macro-F1 %.4f acc %.4f", test_metrics["macro_f1"],
             test_metrics["accuracy"], base["macro_f1"], base["accuracy"])
    version = registry.new_version("v", manifest["snapshot_id"])
    lineage = {"data_snapshot_id": manifest["snapshot_id"], "partitions": manifest["partitions"],
               "test_set_version": manifest["test_set_version"], "rows": manifest["rows"],
               "label_counts": manifest["label_counts"], "data_manifest_uri": manifest_uri,
               "base_model": base_notes, "code_version": registry.code_version(), "run_id": cfg.run_id,
               "teacher": ({"version": cfg.teacher, **{k: registry.card(cfg.registry, cfg.teacher).get(k)
                                                       for k in ("base_model", "teacher_kind", "license", "test")}}
                           if cfg.teacher else None)}
    metrics = {"test": test_metrics, "training": summary}
    with tempfile.TemporaryDirectory(prefix="ugc-model-") as out:
        _save_model_dir(out, model.cpu(), tokenizer, cfg,
                        {"metrics.json": metrics, "lineage.json": lineage, "baseline.json": base})
        card = {"task": "sentiment", "labels": list(cfg.labels), "test_set_version": manifest["test_set_version"],
                "data_snapshot_id": manifest["snapshot_id"], "base_model": base_notes["name"],
                "test": {k: test_metrics[k] for k in ("n", "accuracy", "macro_f1", "ece", "lang_balanced_macro_f1",
                                                      "texts_per_s", "reserved")},
                "baseline": {k: base[k] for k in ("name", "accuracy", "macro_f1", "ece", "reserved")},
                "training": {k: summary[k] for k in ("steps", "best_val_macro_f1", "device", "amp",
                                                     "train_samples_per_s", "early_stopped")},
                "code_version": lineage["code_version"]}
        uri = registry.register(cfg.registry, out, version, card)
    return {"version": version, "model_uri": uri, "test": card["test"], "baseline": card["baseline"],
            "beats_baseline": test_metrics["macro_f1"] > base["macro_f1"]}


def _distillation_set(cfg: TrainConfig, manifest: dict, train, val, test):
    """The training rows plus unlabelled lake posts, each with the teacher's logits; written once per run, so a
    retried (resumed) run does not ask the teacher again."""
    import pyarrow as pa

    from training import teacher

    uri = storage.join(cfg.work, "data", f"distill-{cfg.teacher}.parquet")
    if storage.exists(uri):
        return read_split(uri)
    seen = pa.concat_arrays([t["text_hash"].combine_chunks() for t in (train, val, test)])
    extra = data.unlabelled(cfg, seen, cfg.unlabelled_max)
    rows = pa.concat_tables([train, extra.cast(train.schema)])
    z = teacher.logits(cfg.registry, cfg.teacher)(rows["text"].to_pylist())
    rows = rows.append_column("teacher_logits", pa.array(z.astype("float32").tolist(), pa.list_(pa.float32())))
    write_split(uri, rows)
    log.info("distillation set: %d labelled + %d unlabelled rows scored by teacher %s", train.num_rows,
             extra.num_rows, cfg.teacher)
    return rows


def _champion_metrics(cfg: TrainConfig, champion: dict, challenger: dict) -> dict:
    """Production's metrics on the challenger's test set and reserved sets (re-scored where they differ)."""
    test_uri = registry.testset_uri(cfg.registry, challenger["test_set_version"])
    same_test = champion["test_set_version"] == challenger["test_set_version"]
    theirs = champion["test"].get("reserved") or {}
    stale = {src: m for src, m in (challenger["test"].get("reserved") or {}).items()
             if (theirs.get(src) or {}).get("sha") != m.get("sha")}
    if same_test and not stale:
        return champion["test"]
    from training.evaluate import evaluate_model_dir

    with tempfile.TemporaryDirectory(prefix="ugc-champion-") as d:
        registry.fetch(cfg.registry, champion["version"], d)
        fresh = evaluate_model_dir(d, None if same_test else read_split(test_uri), cfg.eval_batch_size, stale)
    base = champion["test"] if same_test else fresh
    return {**base, "reserved": {**theirs, **fresh.get("reserved", {})}}


def gate_candidate(cfg: TrainConfig, version: str) -> dict:
    """Compare the candidate with production; writes and returns the decision (does not raise)."""
    from training.gate import decide

    challenger = registry.card(cfg.registry, version)
    champion = registry.production(cfg.registry)
    champ_metrics = _champion_metrics(cfg, champion, challenger) if champion is not None else None
    decision = decide(cfg.gate, challenger["test"], champ_metrics)
    return lifecycle.record(cfg, {**decision, "test_set_version": challenger["test_set_version"]}, version,
                            champion, cfg.gate)


def promote_candidate(cfg: TrainConfig, decision_uri: str) -> dict:
    """Promote the gated version; fails if production changed since the gate looked at it."""
    return lifecycle.promote(cfg, decision_uri, "gate passed: macro-F1 {challenger_macro_f1:.4f}")
