"""The day's topics (clustered, with stable ids and trajectories) and opinion leaders, for the sentiment report.

Writes beside the report: ``topics.json`` (today's topics, tomorrow's id memory) and
``topic_posts.parquet`` (post_id -> topic_id, read by the user profiles).
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring import clusters, leaders
from monitoring.config import ReportConfig
from monitoring.scoring import day_dir
from ugc import lake, storage


def read_topics(cfg: ReportConfig, day: str) -> list[dict]:
    """A day's topics.json rows; [] when that day has no report."""
    try:
        return json.loads(storage.read_bytes(storage.join(day_dir(cfg, day), "topics.json")))["topics"]
    except FileNotFoundError:
        return []


def topics_for_day(cfg: ReportConfig, texts: list[str], negative: np.ndarray, hot: list[dict],
                   today_counts: dict, trailing: dict[str, tuple[dict, int, int] | None]) -> tuple[list[dict], list]:
    """Cluster the hot terms, name topics by earlier days' ids, add trajectories; also yesterday's hot topics
    that are not hot today (marked by their state, usually fading). Returns (topics, member post indices)."""
    n = len(texts)
    # Without a trailing day nothing is "hot" (every term would be, by count): no topics on day one.
    hot = [h for h in hot if h["z"] is not None]
    today, members = clusters.build(texts, negative, hot, cfg.topic_link, cfg.topic_examples)
    days = sorted(trailing)
    earlier = [read_topics(cfg, d) for d in reversed(days)]
    clusters.assign_ids(cfg.day, today, earlier, cfg.topic_match)
    hot_ids = {t["id"] for t in today}
    carried = ("id", "terms", "label")  # what a topic that cooled off keeps from yesterday
    yesterday = [{**{k: t[k] for k in carried}, "posts": clusters.daily_volume(t["terms"], today_counts),
                  "negative_share": None, "z": None, "examples": []}
                 for t in (earlier[0] if earlier else []) if t.get("hot") and t["id"] not in hot_ids]
    for t, is_hot in [(t, True) for t in today] + [(t, False) for t in yesterday]:
        counts = [clusters.daily_volume(t["terms"], trailing[d][0]) if trailing[d] else None for d in days]
        shares = [c / trailing[d][1] if trailing[d] and trailing[d][1] else None for c, d in zip(counts, days, strict=True)]
        vol = clusters.daily_volume(t["terms"], today_counts)
        counts.append(vol)
        shares.append(vol / n if n else 0.0)
        t.update(hot=is_hot, share=t["posts"] / n if n else 0.0, trend=dict(zip(days + [cfg.day], shares, strict=True)),
                 state=clusters.state(shares, counts, clusters.MIN_POSTS),
                 negative=is_hot and t["negative_share"] >= cfg.negative_topic_share)
    return today + yesterday, members


def _earlier_posts(cfg: ReportConfig) -> pd.DataFrame:
    frames = []
    for k in range(1, cfg.leader_days + 1):
        part = lake.partition_uri(cfg.lake_uri, cfg.date - timedelta(days=k))
        if storage.exists(storage.join(part, lake.MANIFEST)):
            frames.append(lake.read_partition(part, columns=["post_id", "author_id"]).to_pandas())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"post_id": [], "author_id": []})


def leaders_for_day(cfg: ReportConfig, posts: pd.DataFrame, negative: np.ndarray, topics: list[dict],
                    members: list) -> list[dict]:
    """Overall opinion leaders; negative hot topics get their own under ``leaders`` (in place)."""
    edges = leaders.reply_edges(posts, _earlier_posts(cfg))
    of_post: dict[str, list[str]] = {}
    ids = posts["post_id"].to_numpy()
    for t, idx in zip(topics, members, strict=False):  # members align with the hot topics, listed first
        for pid in ids[idx]:
            of_post.setdefault(pid, []).append(t["id"])
    who = leaders.authors(posts, negative, of_post)
    for t, idx in zip(topics, members, strict=False):
        if t["negative"]:
            t["leaders"] = leaders.topic_leaders(edges, who, ids[idx], cfg.pagerank_damping, cfg.top_leaders)
    return leaders.rank(edges, who, cfg.pagerank_damping, cfg.top_leaders)


def write(cfg: ReportConfig, topics: list[dict], members: list, post_ids: np.ndarray) -> None:
    """topics.json and topic_posts.parquet of the day."""
    out = day_dir(cfg)
    storage.write_bytes(storage.join(out, "topics.json"), json.dumps(
        {"day": cfg.day, "topics": topics}, ensure_ascii=False, default=str).encode())
    pid = [p for idx in members for p in post_ids[idx]]
    tid = [t["id"] for t, idx in zip(topics, members, strict=False) for _ in idx]
    buf = io.BytesIO()
    pq.write_table(pa.table({"post_id": pa.array(pid, pa.string()), "topic_id": pa.array(tid, pa.string())}), buf)
    storage.write_bytes(storage.join(out, "topic_posts.parquet"), buf.getvalue())


def read_topic_posts(cfg: ReportConfig, day: date) -> pd.DataFrame:
    """post_id -> topic_id of a reported day (empty when it has none)."""
    try:
        data = storage.read_bytes(storage.join(day_dir(cfg, day.isoformat()), "topic_posts.parquet"))
    except FileNotFoundError:
        return pd.DataFrame({"post_id": pd.Series([], dtype=str), "topic_id": pd.Series([], dtype=str)})
    return pq.read_table(io.BytesIO(data)).to_pandas()
