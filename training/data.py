"""Training data from lake partitions: labelled rows, a frozen versioned test set, leakage-free splits.

Layout under the registry:

    {registry}/testsets/<version>/test.parquet + manifest.json   frozen held-out set, never trained on
    {registry}/runs/<run_id>/data/{train,val}.parquet + manifest.json

Splits are by group (author, or text hash for sources without authors): an author's posts all land
on one side, and no training row shares a text hash or a group with the test set.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from training.config import TrainConfig
from ugc import lake, lang, registry, storage
from ugc.errors import ConfigError
from ugc.splits import buckets, read_split, reserved, table_bytes, write_split

COLUMNS = ["post_id", "platform", "author_id", "text", "lang", "label", "label_confidence", "text_hash"]
SPLIT_SALT = "ugc-sentiment-split-v1"  # changing it reshuffles every split: bump only with a new test set


def load_labelled(cfg: TrainConfig) -> tuple[pa.Table, pa.Table, list[dict]]:
    """(trainable labelled rows, reserved evaluation rows, lineage) of the configured partitions.

    Reserved rows (``ugc.splits.reserved``) are set aside before anything else; trainable rows below
    ``min_label_confidence`` (where a source gives one) are dropped, then duplicates by text hash.
    """
    tables, lineage = [], []
    for day in cfg.partitions():
        uri = lake.partition_uri(cfg.lake_uri, day)
        manifest = lake.read_manifest(uri)
        t = lake.read_partition(uri, columns=COLUMNS)
        t = t.filter(pc.is_in(t["label"], pa.array(list(cfg.labels))))
        tables.append(t)
        lineage.append({"day": day.isoformat(), "uri": uri, "snapshot_id": manifest["snapshot_id"],
                        "labelled_rows": t.num_rows, "provenance": manifest.get("provenance", [])})
    table = pa.concat_tables(tables)
    held = reserved(table["post_id"])
    kept, table = table.filter(held), table.filter(pc.invert(held))
    # A trainable row with a reserved row's text ("很好" is in both slices) would be training on it.
    table = table.filter(pc.invert(pc.is_in(table["text_hash"], kept["text_hash"])))
    if cfg.min_label_confidence > 0:
        conf = pc.fill_null(pc.greater_equal(table["label_confidence"], cfg.min_label_confidence), True)
        table = table.filter(conf)
    return _first_per_text(table), kept, lineage


def _first_per_text(table: pa.Table) -> pa.Table:
    """The first row of each text hash, in table order."""
    _, first = np.unique(table["text_hash"].to_numpy(), return_index=True)
    return table.take(np.sort(first))


def _sample(table: pa.Table, n: int) -> pa.Table:
    """At most ``n`` rows, chosen by salted post-id hash (the same rows whatever the seed), in table order."""
    if table.num_rows <= n:
        return table
    order = np.argsort(buckets(table["post_id"], SPLIT_SALT), kind="stable")[:n]
    return table.take(np.sort(order))


def _reserved_sets(cfg: TrainConfig, held: pa.Table, base: str) -> dict:
    """Each source's reserved rows (a deterministic sample of at most ``reserved_eval_max``), written for
    evaluation beside the run's splits."""
    out = {}
    for source in sorted(set(held["platform"].to_pylist())):
        t = _sample(held.filter(pc.equal(held["platform"], source)), cfg.reserved_eval_max)
        uri = storage.join(base, f"reserved-{source}.parquet")
        out[source] = {"uri": uri, "rows": t.num_rows, "sha": write_split(uri, t),
                       "of": int(pc.sum(pc.equal(held["platform"], source)).as_py())}
    return out


def select_days(lake_uri: str, until: str | None, lookback_days: int) -> list[str]:
    """Published partitions in the ``lookback_days`` ending at ``until`` (default: the newest one)."""
    days = lake.list_partitions(lake_uri)
    if not days:
        raise ConfigError(f"no published partitions under {lake_uri}")
    end = date.fromisoformat(until) if until else days[-1]
    return [d.isoformat() for d in days if 0 <= (end - d).days < lookback_days]


def freeze_test_set(cfg: TrainConfig, table: pa.Table, lineage: list[dict]) -> dict:
    """Freeze a new held-out test set version from ``table`` (groups hashed below test_fraction)."""
    keys = table[cfg.split_key].cast(pa.string())
    test = table.filter(pa.array(buckets(keys, SPLIT_SALT) < cfg.test_fraction))
    if test.num_rows == 0:
        raise ConfigError("test split is empty: need more labelled rows or a larger test_fraction")
    sha = hashlib.sha256(table_bytes(test.sort_by("text_hash"))).hexdigest()[:12]
    version = f"ts-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{sha}"
    base = registry.testset_dir(cfg.registry, version)
    write_split(registry.testset_uri(cfg.registry, version), test)
    manifest = {"version": version, "rows": test.num_rows, "split_key": cfg.split_key, "labels": list(cfg.labels),
                "sha": sha, "partitions": lineage, "created_at": datetime.now(UTC).isoformat()}
    storage.write_bytes(storage.join(base, "manifest.json"), json.dumps(manifest, indent=1).encode())
    return {**manifest, "uri": registry.testset_uri(cfg.registry, version)}


def _cap_per_expert(cfg: TrainConfig, train: pa.Table) -> pa.Table:
    """At most ``expert_max_train_samples[key]`` of the rows each expert trains on (routed as served), drawn by
    the run's seed; experts without a cap keep all theirs."""
    keys = [lang.DEFAULT_EXPERT, *sorted(cfg.experts)]
    routed = lang.route(keys, train["text"].to_pylist())
    rng = np.random.default_rng([cfg.seed, 1])  # its own stream: the global draw above stays as it was
    keep = []
    for key in keys:
        idx = np.flatnonzero(routed == key)
        cap = cfg.expert_max_train_samples.get(key, 0)
        keep.append(rng.choice(idx, cap, replace=False) if cap and idx.size > cap else idx)
    return train.take(np.sort(np.concatenate(keep)))


def prepare(cfg: TrainConfig) -> dict:
    """Build train/val from the partitions, excluding the frozen test set's groups and texts.

    Returns the data manifest (URIs, row counts, label counts, lineage, test set version, snapshot id).
    """
    table, held, lineage = load_labelled(cfg)
    ts = None if cfg.test_set == "new" else registry.latest_testset(cfg.registry)
    if ts is None:
        ts = freeze_test_set(cfg, table, lineage)
    elif list(ts["labels"]) != list(cfg.labels) or ts["split_key"] != cfg.split_key:
        raise ConfigError(f"test set {ts['version']} was frozen with labels={ts['labels']} split_key="
                          f"{ts['split_key']}; freeze a new one with test_set='new'")
    test = read_split(ts["uri"])
    # Leakage guard: nothing that shares a group or a text with the held-out set may be trained on.
    held_groups = pc.is_in(table[ts["split_key"]].cast(pa.string()), test[ts["split_key"]].cast(pa.string()))
    held_text = pc.is_in(table["text_hash"], test["text_hash"])
    pool = table.filter(pc.invert(pc.or_(held_groups, held_text)))
    keys = pool[cfg.split_key].cast(pa.string())
    b = buckets(keys, SPLIT_SALT)
    # Re-scale so val takes val_fraction of what is left after test, whatever the test buckets were.
    is_val = (b >= cfg.test_fraction) & (b < cfg.test_fraction + cfg.val_fraction * (1 - cfg.test_fraction))
    is_val |= b < cfg.test_fraction  # groups new since the freeze that hash into the test range
    val, train = pool.filter(pa.array(is_val)), pool.filter(pa.array(~is_val))
    if cfg.max_train_samples and train.num_rows > cfg.max_train_samples:
        idx = np.random.default_rng(cfg.seed).choice(train.num_rows, cfg.max_train_samples, replace=False)
        train = train.take(np.sort(idx))
    # Drift's reference (monitoring/drift.py) is the training rows in the lake's own mix. Per-expert caps change
    # the mix on purpose (the demo: every English row, 3,000 of the rest), and as the reference that made the
    # demo's normal day fail drift on language and platform (lang_psi 0.279); a uniform cap keeps the mix.
    reference = train
    if cfg.expert_max_train_samples:
        train = _cap_per_expert(cfg, train)
    if train.num_rows == 0 or val.num_rows == 0:
        raise ConfigError(f"not enough labelled data: train={train.num_rows} val={val.num_rows}")
    base = storage.join(cfg.work, "data")
    uris = {name: storage.join(base, f"{name}.parquet") for name in ("train", "val", "reference")}
    shas = {name: write_split(uris[name], t) for name, t in (("train", train), ("val", val))}
    if train.num_rows != reference.num_rows:  # caps only drop rows, keeping order: equal counts, equal tables
        write_split(uris["reference"], reference)
    else:
        uris["reference"] = uris["train"]
    manifest = {
        "train_uri": uris["train"], "val_uri": uris["val"], "reference_uri": uris["reference"],
        "test_uri": ts["uri"], "test_set_version": ts["version"],
        "rows": {"train": train.num_rows, "val": val.num_rows, "test": test.num_rows,
                 "excluded_overlapping_test": table.num_rows - pool.num_rows},
        "label_counts": {n: _label_counts(t, cfg.labels) for n, t in (("train", train), ("val", val), ("test", test))},
        "reserved": _reserved_sets(cfg, held, base),
        "partitions": lineage, "split_key": cfg.split_key, "labels": list(cfg.labels),
        "snapshot_id": hashlib.sha256(f"{shas['train']}:{shas['val']}:{ts['sha']}".encode()).hexdigest()[:16],
    }
    uri = storage.join(base, "manifest.json")
    storage.write_bytes(uri, json.dumps(manifest, indent=1).encode())
    return {**manifest, "manifest_uri": uri}


def _label_counts(t: pa.Table, labels) -> dict:
    vc = {r["values"]: r["counts"] for r in pc.value_counts(t["label"]).to_pylist()}
    return {lab: int(vc.get(lab, 0)) for lab in labels}


def unlabelled(cfg: TrainConfig, exclude_hashes: pa.Array, n: int) -> pa.Table:
    """Up to ``n`` unlabelled posts of the configured partitions (never reserved rows, never a text of the
    validation or test split), a deterministic sample: the student's extra distillation data. A labelled row
    below ``min_label_confidence`` counts as unlabelled: its crowd label is noise, its text is real."""
    parts = []
    for day in cfg.partitions():
        t = lake.read_partition(lake.partition_uri(cfg.lake_uri, day), columns=COLUMNS)
        unsure = pc.fill_null(pc.less(t["label_confidence"], cfg.min_label_confidence), False)
        t = t.set_column(t.column_names.index("label"), "label",
                         pc.if_else(unsure, pa.scalar(None, t.schema.field("label").type), t["label"]))
        keep = pc.and_(pc.is_null(t["label"]), pc.invert(reserved(t["post_id"])))
        parts.append(t.filter(pc.and_(keep, pc.invert(pc.is_in(t["text_hash"], exclude_hashes)))))
    return _sample(_first_per_text(pa.concat_tables(parts)), n)
