"""Daily public-opinion report: sentiment by platform / language / hour, negative spikes, topics, opinion leaders.

Inputs are the day's lake partition and its scores (``monitoring.scoring``). Outputs, per day:
``{reports}/dt=DAY/sentiment.json`` (metrics), ``sentiment.html`` (charts), ``terms.json`` (the
day's term counts, tomorrow's hot-topic baseline), ``topics.json`` and ``topic_posts.parquet``.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import numpy as np
import pyarrow.compute as pc

from monitoring import html, opinion, stats, topics
from monitoring.config import ReportConfig
from monitoring.scoring import day_dir, read_scores
from ugc import lake, storage, vocab

log = logging.getLogger(__name__)


def _share_table(keys: list, labels_col: np.ndarray, labels: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for k, lab in zip(keys, labels_col, strict=True):
        out.setdefault(str(k), dict.fromkeys(labels, 0))[lab] += 1
    return dict(sorted(out.items()))


def _terms_for(cfg: ReportConfig, day: str) -> tuple[dict, int, int] | None:
    """A trailing day's term counts: from its terms.json, else counted from its partition and cached."""
    uri = storage.join(day_dir(cfg, day), "terms.json")
    try:
        d = json.loads(storage.read_bytes(uri))
        return d["terms"], d["posts"], d.get("floor", 0)
    except FileNotFoundError:
        pass
    part = lake.partition_uri(cfg.lake_uri, date.fromisoformat(day))
    if not storage.exists(storage.join(part, lake.MANIFEST)):
        return None
    df, n, _ = topics.document_frequencies(lake.read_partition(part, columns=["text"])["text"].to_pylist())
    terms, floor = topics.top_terms(df, cfg.topic_keep)
    storage.write_bytes(uri, json.dumps({"day": day, "posts": n, "floor": floor, "terms": terms},
                                        ensure_ascii=False).encode())
    return terms, n, floor


def _baseline_days(cfg: ReportConfig) -> list[str]:
    return [(cfg.date - timedelta(days=k)).isoformat() for k in range(cfg.baseline_days, 0, -1)]


def _daily_negative(cfg: ReportConfig, day: str) -> dict | None:
    """{posts, negative_share} of a trailing day from its scores; None when it was not scored or is empty."""
    try:
        scores, _ = read_scores(cfg, day)
    except FileNotFoundError:
        return None
    n = scores.num_rows
    if not n:
        return None
    return {"posts": n, "negative_share": float(pc.sum(pc.equal(scores["label"], "negative")).as_py()) / n}


def sentiment_report(cfg: ReportConfig, scores_uri: str | None = None) -> dict:
    """Build the day's report from its partition and scores (``scores_uri``, default the day's); returns
    URIs, headline numbers, a summary."""
    scores, meta = read_scores(cfg, scores_uri=scores_uri)
    labels = meta["labels"]
    posts = lake.read_partition(lake.partition_uri(cfg.lake_uri, cfg.date),
                                columns=["post_id", "author_id", "parent_id", "platform", "lang", "created_at", "text"])
    if posts["post_id"].to_pylist() != scores["post_id"].to_pylist():
        raise ValueError(f"scores for {cfg.day} do not match the partition (re-run scoring)")
    n = posts.num_rows
    pred = np.array(scores["label"].to_pylist(), dtype=object)
    counts = {lab: int((pred == lab).sum()) for lab in labels}
    neg_share = counts.get("negative", 0) / n if n else 0.0
    hours = pc.hour(posts["created_at"]).to_numpy(zero_copy_only=False) if n else np.array([], int)
    by_hour = _share_table([f"{h:02d}" for h in hours], pred, labels)
    by_platform = _share_table(posts["platform"].to_pylist(), pred, labels)
    by_lang = _share_table(posts["lang"].to_pylist(), pred, labels)

    # Spike: today's negative share against the trailing days that were scored.
    trailing = {d: _daily_negative(cfg, d) for d in _baseline_days(cfg)}
    base = [v["negative_share"] for v in trailing.values() if v]
    z = stats.zscore(neg_share, base, min_std=0.01)  # 1-point floor: a flat baseline is not infinitely tight
    mean = float(np.mean(base)) if base else None
    spike = bool(len(base) >= cfg.min_baseline_days and z is not None and z >= cfg.spike_z
                 and neg_share - mean >= cfg.spike_min_delta)

    # Hot terms against the trailing days' term counts, clustered into topics with stable ids.
    texts = posts["text"]
    text_list = texts.to_pylist()
    negative = pred == "negative"
    df, _, df_neg = topics.document_frequencies(text_list, negative)
    trailing_terms = {d: _terms_for(cfg, d) for d in _baseline_days(cfg)}
    hot = topics.hot_topics(df, n, [t for t in trailing_terms.values() if t], top=cfg.topic_candidates,
                            min_z=cfg.hot_topic_z)
    for h in hot:
        h["negative_share"] = df_neg.get(h["term"], 0) / h["posts"]
    topic_rows, members = opinion.topics_for_day(cfg, text_list, negative, hot, df, trailing_terms)
    frame = posts.select(["post_id", "author_id", "parent_id"]).to_pandas()
    top_leaders = opinion.leaders_for_day(cfg, frame, negative, topic_rows, members)
    opinion.write(cfg, topic_rows, members, frame["post_id"].to_numpy())
    kept, floor = topics.top_terms(df, cfg.topic_keep)
    storage.write_bytes(storage.join(day_dir(cfg), "terms.json"), json.dumps(
        {"day": cfg.day, "posts": n, "floor": floor, "terms": kept}, ensure_ascii=False).encode())

    # Top negative posts; text is re-redacted in case an upstream rule missed something.
    top_neg = []
    if n and "negative" in labels:
        p_neg = scores["p_negative"].to_numpy()
        idx = np.argsort(-p_neg, kind="stable")[:cfg.top_negative]
        idx = [int(i) for i in idx if pred[i] == "negative"]
        top_neg = [{"post_id": posts["post_id"][i].as_py(), "platform": posts["platform"][i].as_py(),
                    "created_at": posts["created_at"][i].as_py().isoformat(), "p_negative": float(p_neg[i]),
                    "text": vocab.redact(texts[i].as_py())[0]} for i in idx]

    metrics = {"day": cfg.day, "posts": n, "model_version": meta["model_version"], "scoring": meta["scoring"],
               "counts": counts, "shares": {k: v / n if n else 0.0 for k, v in counts.items()},
               "by_platform": by_platform, "by_lang": by_lang, "by_hour": by_hour,
               "spike": {"negative_share": neg_share, "baseline_mean": mean, "z": z, "baseline_days": len(base),
                         "threshold_z": cfg.spike_z, "min_delta": cfg.spike_min_delta, "is_spike": spike,
                         "trailing": {d: v["negative_share"] if v else None for d, v in trailing.items()}},
               "hot_terms": hot[:cfg.top_topics], "topics": topic_rows[:cfg.top_topics], "leaders": top_leaders,
               "top_negative": top_neg}
    metrics["summary"] = summary(metrics)
    out = day_dir(cfg)
    storage.write_bytes(storage.join(out, "sentiment.json"),
                        json.dumps(metrics, indent=1, ensure_ascii=False, default=str).encode())
    storage.write_bytes(storage.join(out, "sentiment.html"), render(metrics, labels).encode())
    log.info("%s", metrics["summary"])
    return {"json_uri": storage.join(out, "sentiment.json"), "html_uri": storage.join(out, "sentiment.html"),
            "posts": n, "negative_share": neg_share, "spike": spike, "summary": metrics["summary"]}


def summary(m: dict) -> str:
    """A few lines for the task log."""
    s = m["spike"]
    trend = "no baseline yet" if s["baseline_mean"] is None else (
        f"baseline {s['baseline_mean']:.1%} over {s['baseline_days']} days, z={s['z']:.1f}" if s["z"] is not None
        else f"baseline {s['baseline_mean']:.1%}")
    hot = "; ".join([f"{t['label']} ({t['state']})" for t in m["topics"] if t["hot"]][:5]) or "none"
    return (f"{m['day']}: {m['posts']} posts, negative {m['shares'].get('negative', 0):.1%} ({trend})"
            f"{' — NEGATIVE SPIKE' if s['is_spike'] else ''}; hot topics: {hot}")


def render(m: dict, labels: list[str]) -> str:
    """The self-contained HTML page of a sentiment report."""
    s = m["spike"]
    days = list(s["trailing"]) + [m["day"]]
    neg_series = list(s["trailing"].values()) + [s["negative_share"]]

    def bars(title, table):
        return html.stacked_bars(title, list(table), {lab: [v[lab] for v in table.values()] for lab in labels})

    hours = {f"{h:02d}": m["by_hour"].get(f"{h:02d}", dict.fromkeys(labels, 0)) for h in range(24)}
    topic_rows = [[html.sparkline(list(t["trend"].values())), t["label"], html.Markup(html.badge(t["state"])),
                   t["posts"], t["share"], t["negative_share"], t["z"], html.Markup("<br>".join(
                       html.escape(x) for x in t["examples"]))] for t in m["topics"]]
    names = {t["id"]: t["label"] for t in m["topics"]}
    neg_rows = [[p["p_negative"], p["platform"], p["created_at"][:19], p["text"]] for p in m["top_negative"]]
    spike = html.badge("fail") + " negative spike" if s["is_spike"] else html.badge("pass") + " no spike"
    sections = [
        html.cards([("posts", f"{m['posts']:,}"), ("negative", f"{m['shares'].get('negative', 0):.1%}"),
                    ("positive", f"{m['shares'].get('positive', 0):.1%}"),
                    ("z vs baseline", "n/a" if s["z"] is None else f"{s['z']:.1f}"), ("spike", spike)]),
        f"<p>{html.escape(m['summary'])}</p>",
        "<h2>Negative share over time</h2>",
        html.line_chart("negative share by day", [d[5:] for d in days], {"negative": neg_series}, 1060,
                        percent=True, highlight_last=True),
        "<h2>Sentiment by hour (UTC)</h2>",
        html.stacked_bars("posts per hour", list(hours), {lab: [v[lab] for v in hours.values()] for lab in labels},
                          1060, percent=False),
        "<h2>Breakdowns</h2>", '<div class="grid">', bars("by platform", m["by_platform"]),
        bars("by language", m["by_lang"]), "</div>",
        "<h2>Topics (hot terms clustered; trend over the trailing days)</h2>",
        html.table(["trend", "topic", "state", "posts", "share", "negative share", "z", "representative posts"],
                   topic_rows, numeric={3, 4, 5, 6}),
        "<h2>Opinion leaders (PageRank on the reply graph)</h2>", _leader_table(m["leaders"], names),
        *[part for t in m["topics"] if t.get("leaders") for part in (
            f"<h3>Leaders of the negative topic {html.escape(t['label'])}</h3>", _leader_table(t["leaders"], names))],
        '<p><a href="profiles.html">User profiles summary</a> (hashed author ids only)</p>',
        "<h2>Most negative posts (PII redacted)</h2>",
        html.table(["p(negative)", "platform", "created (UTC)", "text"], neg_rows, numeric={0}),
    ]
    return html.page(f"Sentiment report {m['day']}", f"model {m['model_version']} via {m['scoring']}", sections)


def _leader_table(rows: list[dict], names: dict[str, str]) -> str:
    return html.table(["author (salted hash)", "PageRank", "replies", "repliers", "negative replies", "posts",
                       "negative posts", "topics"],
                      [[r["author_id"][:16], r["pagerank"], r["replies"], r["repliers"], r["reply_negative_share"],
                        r["posts"], r["negative_share"], "; ".join(names.get(t, t) for t in r["topics"])] for r in rows],
                      numeric={1, 2, 3, 4, 5, 6})
