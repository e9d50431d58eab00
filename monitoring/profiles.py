"""User profiles (用户画像): one row per author, updated each night from that day's posts only.

    {lake}/profiles/dt=DAY/profiles.parquet   author_id (the lake's salted hash), posts, days_active,
        first_seen, last_seen, negative/neutral/positive (predicted labels of their posts), tendency and
        tendency_confidence, platforms / langs / topics (maps to post counts; topics keeps the top few)
    {lake}/profiles/dt=DAY/_manifest.json     written last: the snapshot it was built on, days folded in

Incremental: DAY's table = the newest snapshot before DAY + the partitions after it up to DAY (normally
just DAY), so a night never rescans history, and a rerun of DAY reads the same inputs and writes the same
table (idempotent). The first build folds at most ``profile_retention_days`` of partitions. Authors unseen
for ``profile_retention_days`` are dropped; the newest ``profile_snapshots`` snapshots are kept.

Privacy: the only identifier is the salted author hash the lake already holds; no name, handle or text
is stored. Tendency confidence is the posterior mean share of the majority label under a uniform
Dirichlet prior, (k + 1) / (n + 3): one post is weak evidence of a tendency, fifty are not.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring.config import ReportConfig
from monitoring.opinion import read_topic_posts
from monitoring.scoring import day_dir, read_scores
from ugc import lake, storage
from ugc.vocab import LABELS

MAPS = ("platforms", "langs", "topics")
MANIFEST = "_manifest.json"


def root(cfg: ReportConfig) -> str:
    return storage.join(cfg.lake_uri, "profiles")


def _snapshots(cfg: ReportConfig) -> list[date]:
    out = []
    for name in storage.list_dirs(root(cfg)):
        if name.startswith("dt=") and storage.exists(storage.join(root(cfg), name, MANIFEST)):
            out.append(date.fromisoformat(name[3:]))
    return sorted(out)


def read(cfg: ReportConfig, day: date) -> pa.Table:
    """The profiles snapshot of ``day`` (FileNotFoundError when it was not built)."""
    d = storage.join(root(cfg), f"dt={day.isoformat()}")
    storage.read_bytes(storage.join(d, MANIFEST))  # only a published snapshot counts
    return pq.read_table(io.BytesIO(storage.read_bytes(storage.join(d, "profiles.parquet"))))


def _day_frame(cfg: ReportConfig, day: date) -> pd.DataFrame:
    part = lake.partition_uri(cfg.lake_uri, day)
    df = lake.read_partition(part, columns=["post_id", "author_id", "platform", "lang", "created_at"]).to_pandas()
    try:
        scores, _ = read_scores(cfg, day.isoformat())
        df = df.merge(scores.select(["post_id", "label"]).to_pandas(), on="post_id", how="left")
    except FileNotFoundError:
        df["label"] = None  # a day that was never scored still counts activity
    return df


def _long(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.groupby(["author_id", key], sort=False).size().rename("n").reset_index().rename(columns={key: "key"})


def _aggregate(cfg: ReportConfig, day: date) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    df = _day_frame(cfg, day)
    for lab in LABELS:
        df[lab] = (df["label"] == lab).astype(np.int64)
    g = df.groupby("author_id", sort=False)
    scalars = g.agg(posts=("post_id", "size"), first_seen=("created_at", "min"), last_seen=("created_at", "max"),
                    **{lab: (lab, "sum") for lab in LABELS})
    scalars["days_active"] = 1
    tp = read_topic_posts(cfg, day).merge(df[["post_id", "author_id"]], on="post_id")
    return scalars.reset_index(), {"platforms": _long(df, "platform"), "langs": _long(df, "lang"),
                                   "topics": _long(tp, "topic_id")}


def _explode(table: pa.Table, col: str) -> pd.DataFrame:
    arr = table[col].combine_chunks()
    off = arr.offsets.to_numpy()  # of this (possibly sliced) array; keys/items are the whole buffers
    keys, items = arr.keys[off[0]:off[-1]], arr.items[off[0]:off[-1]]
    return pd.DataFrame({"author_id": np.repeat(table["author_id"].to_numpy(zero_copy_only=False), np.diff(off)),
                         "key": keys.to_numpy(zero_copy_only=False), "n": items.to_numpy()})


def _to_map(long: pd.DataFrame, authors: np.ndarray, keep: int | None) -> pa.Array:
    long = long.sort_values(["author_id", "n", "key"], ascending=[True, False, True], kind="stable")
    if keep:
        long = long[long.groupby("author_id", sort=False).cumcount() < keep]
    counts = long.groupby("author_id", sort=True).size().reindex(authors, fill_value=0).to_numpy()
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    return pa.MapArray.from_arrays(offsets, pa.array(long["key"].to_numpy(), pa.string()),
                                   pa.array(long["n"].to_numpy(), pa.int64()))


def update_profiles(cfg: ReportConfig) -> dict:
    """Build DAY's profiles snapshot from the previous one and the days since; returns its URI and counts."""
    if not storage.exists(storage.join(lake.partition_uri(cfg.lake_uri, cfg.date), lake.MANIFEST)):
        raise FileNotFoundError(f"no partition for {cfg.day}: ingest it first")
    earlier = [d for d in _snapshots(cfg) if d < cfg.date]
    prev = earlier[-1] if earlier else None
    start = prev + timedelta(days=1) if prev else cfg.date - timedelta(days=cfg.profile_retention_days - 1)
    days = [d for d in lake.list_partitions(cfg.lake_uri) if start <= d <= cfg.date]
    parts = [_aggregate(cfg, d) for d in days]
    scal = [p[0] for p in parts]
    longs = {m: [p[1][m] for p in parts] for m in MAPS}
    if prev:
        old = read(cfg, prev)
        scal.insert(0, old.drop_columns([*MAPS, "tendency", "tendency_confidence"]).to_pandas())
        for m in MAPS:
            longs[m].insert(0, _explode(old, m))
    sums = {c: "sum" for c in ("posts", "days_active", *LABELS)}
    merged = pd.concat(scal, ignore_index=True).groupby("author_id", sort=True).agg(
        first_seen=("first_seen", "min"), last_seen=("last_seen", "max"), **{c: (c, f) for c, f in sums.items()})
    cutoff = pd.Timestamp(cfg.date - timedelta(days=cfg.profile_retention_days - 1), tz="UTC")
    merged = merged[merged["last_seen"] >= cutoff]
    authors = merged.index.to_numpy()
    labelled = merged[list(LABELS)].to_numpy()
    n_lab = labelled.sum(1)
    top = labelled.argmax(1)
    cols = {"author_id": pa.array(authors, pa.string()),
            **{c: pa.array(merged[c].to_numpy(), pa.int64()) for c in ("posts", "days_active", *LABELS)},
            "first_seen": pa.array(merged["first_seen"], pa.timestamp("us", tz="UTC")),
            "last_seen": pa.array(merged["last_seen"], pa.timestamp("us", tz="UTC")),
            "tendency": pa.array([LABELS[i] if k else None for i, k in zip(top, n_lab, strict=True)], pa.string()),
            "tendency_confidence": pa.array((labelled.max(1) + 1) / (n_lab + len(LABELS)), pa.float64(),
                                            mask=n_lab == 0)}
    for m in MAPS:
        long = pd.concat(longs[m], ignore_index=True).groupby(["author_id", "key"], sort=False)["n"].sum().reset_index()
        long = long[long["author_id"].isin(set(authors))]
        cols[m] = _to_map(long, authors, cfg.profile_topics if m == "topics" else None)
    table = pa.table(cols)
    out = storage.join(root(cfg), f"dt={cfg.day}")
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    storage.write_bytes(storage.join(out, "profiles.parquet"), buf.getvalue())
    manifest = {"day": cfg.day, "authors": table.num_rows, "previous": prev.isoformat() if prev else None,
                "folded_days": [d.isoformat() for d in days], "retention_days": cfg.profile_retention_days}
    storage.write_bytes(storage.join(out, MANIFEST), json.dumps(manifest, indent=1).encode())
    _prune(cfg)
    summary = summarize(cfg, table)
    return {"uri": storage.join(out, "profiles.parquet"), **manifest, "summary_uri": summary}


def _prune(cfg: ReportConfig) -> None:
    keep_from = cfg.date - timedelta(days=cfg.profile_snapshots - 1)
    for d in _snapshots(cfg):
        if d < keep_from:
            d_uri = storage.join(root(cfg), f"dt={d.isoformat()}")
            storage.delete(storage.join(d_uri, MANIFEST))  # unpublish first
            storage.delete(storage.join(d_uri, "profiles.parquet"))


def summarize(cfg: ReportConfig, table: pa.Table) -> str:
    """profiles.json + profiles.html beside the day's report: counts, mixes, the most active authors today."""
    from monitoring import html
    from monitoring.opinion import read_topics

    df = table.to_pandas()
    day0 = pd.Timestamp(cfg.date, tz="UTC")
    active = df[df["last_seen"] >= day0]
    names = {t["id"]: t["label"] for t in read_topics(cfg, cfg.day)}
    top = active.sort_values(["posts", "author_id"], ascending=[False, True]).head(20)
    rows = [{"author_id": r.author_id, "posts": int(r.posts), "days_active": int(r.days_active),
             "tendency": r.tendency, "confidence": None if pd.isna(r.tendency_confidence) else float(r.tendency_confidence),
             "platforms": dict(r.platforms), "topics": [names.get(k, k) for k, _ in r.topics]} for r in top.itertuples()]
    s = {"day": cfg.day, "authors": len(df), "active_today": len(active),
         "new_today": int((df["first_seen"] >= day0).sum()),
         "tendency": {str(k): int(v) for k, v in df["tendency"].fillna("unknown").value_counts().items()},
         "most_active": rows}
    out = day_dir(cfg)
    storage.write_bytes(storage.join(out, "profiles.json"), json.dumps(s, ensure_ascii=False, indent=1).encode())
    page = html.page(f"User profiles {cfg.day}", "salted author hashes only; see monitoring/profiles.py", [
        html.cards([("authors", f"{s['authors']:,}"), ("active today", f"{s['active_today']:,}"),
                    ("new today", f"{s['new_today']:,}")]),
        "<h2>Sentiment tendency</h2>", html.table(["tendency", "authors"], [[k, v] for k, v in s["tendency"].items()],
                                                   numeric={1}),
        "<h2>Most active today</h2>",
        html.table(["author (salted hash)", "posts", "days active", "tendency", "confidence", "platforms", "topics"],
                   [[r["author_id"][:16], r["posts"], r["days_active"], r["tendency"], r["confidence"],
                     ", ".join(f"{k} {v}" for k, v in r["platforms"].items()), ", ".join(r["topics"])] for r in rows],
                   numeric={1, 2, 4})])
    storage.write_bytes(storage.join(out, "profiles.html"), page.encode())
    return storage.join(out, "profiles.json")
