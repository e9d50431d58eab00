"""Topics (clusters, stable ids, trajectories), opinion leaders and user profiles on constructed cases."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring import clusters, leaders
from monitoring.config import ReportConfig
from monitoring.scoring import day_dir
from ugc import lake, storage
from ugc.vocab import LABELS


def _hot(*terms_posts):
    return [{"term": t, "posts": n, "z": 9.0} for t, n in terms_posts]


def test_fragments_and_translations_of_one_story_are_one_topic_and_other_stories_stay_apart():
    story_zh = ["Pixel电池起火了 太吓人"] * 30
    story_en = ["Pixel battery fire again, recall now"] * 20
    other = ["new coffee shop opening downtown coffee"] * 25
    noise = ["just a normal post about a movie"] * 25
    texts = story_zh + story_en + other + noise
    neg = np.array([True] * 50 + [False] * 50)
    hot = _hot(("pixel", 50), ("电池起火", 30), ("battery fire", 20), ("recall", 20), ("coffee shop", 25),
               ("coffee", 25))
    topics, members = clusters.build(texts, neg, hot, link=0.6, examples=3)
    assert [sorted(t["terms"]) for t in topics] == [sorted(["pixel", "电池起火", "battery fire", "recall"]),
                                                   ["coffee", "coffee shop"]]
    story = topics[0]
    assert story["posts"] == 50 and story["negative_share"] == 1.0 and list(members[0]) == list(range(50))
    assert story["label"] == "电池起火 · pixel · battery fire"  # both languages, most posts first
    assert len(story["examples"]) == 2  # distinct texts only, at most 3
    assert topics[1]["negative_share"] == 0.0 and topics[1]["posts"] == 25


def test_representative_posts_are_pii_redacted():
    texts = ["电池起火 联系我 13812345678", "电池起火 mail a@b.com"] * 5
    topics, _ = clusters.build(texts, np.ones(10, bool), _hot(("电池起火", 10)), 0.6, 3)
    assert topics[0]["examples"] and not any("13812345678" in e or "a@b.com" in e for e in topics[0]["examples"])


def test_topic_ids_are_stable_across_days_and_new_stories_get_new_ids():
    yesterday = [{"id": "tA", "terms": ["pixel", "电池起火", "battery fire"]}, {"id": "tB", "terms": ["coffee"]}]
    today = [{"terms": ["pixel", "电池起火", "battery fire", "召回"]}, {"terms": ["演唱会", "concert"]},
             {"terms": ["pixel", "电池起火"]}]
    clusters.assign_ids("2026-11-07", today, [yesterday], match=0.3)
    assert today[0]["id"] == "tA"  # the better match keeps the id; the weaker one does not share it
    assert today[2]["id"] not in ("tA", "tB") and today[1]["id"] not in ("tA", "tB")
    again = [{"terms": ["演唱会", "concert"]}]
    clusters.assign_ids("2026-11-07", again, [yesterday], match=0.3)
    assert again[0]["id"] == today[1]["id"]  # a rerun names it the same


@pytest.mark.parametrize(("shares", "counts", "want"), [
    ([None, 0.0, 0.0, 0.1], [None, 0, 1, 60], "new"),
    ([0.01, 0.1, 0.2, 0.4], [6, 60, 120, 240], "rising"),
    ([0.2, 0.21, 0.2, 0.21], [120, 126, 120, 126], "steady"),
    ([0.1, 0.4, 0.3, 0.1], [60, 240, 180, 60], "fading"),
])
def test_trajectory_states(shares, counts, want):
    assert clusters.state(shares, counts, min_posts=5) == want


def test_reply_graph_resolves_parents_across_days_and_ranks_the_hub_first():
    today = pd.DataFrame({
        "post_id": ["h1", "r1", "r2", "r3", "r4", "s1", "x1", "x2"],
        "author_id": ["hub", "a", "b", "c", "d", "hub", "e", "f"],
        "parent_id": [None, "h1", "h1", "old", "h1", "h1", "r1", "zzz"],  # old = yesterday; zzz unknown
    })
    earlier = pd.DataFrame({"post_id": ["old"], "author_id": ["hub"]})
    edges = leaders.reply_edges(today, earlier)
    assert sorted(map(tuple, edges[["src", "dst"]].to_numpy())) == [("a", "hub"), ("b", "hub"), ("c", "hub"),
                                                                     ("d", "hub"), ("e", "a")]  # no self-reply
    neg = np.array([True, True, True, False, True, False, False, False])
    rows = leaders.rank(edges, leaders.authors(today, neg, {"h1": ["t1"]}), 0.85, 5)
    assert [r["author_id"] for r in rows] == ["hub", "a"]  # only authors who drew replies
    hub = rows[0]
    assert hub["replies"] == 4 and hub["repliers"] == 4 and hub["reply_negative_share"] == 0.75
    assert hub["posts"] == 2 and hub["negative_share"] == 0.5 and hub["topics"] == ["t1"]
    import networkx as nx
    g = nx.DiGraph([("a", "hub"), ("b", "hub"), ("c", "hub"), ("d", "hub"), ("e", "a")])
    assert hub["pagerank"] == pytest.approx(nx.pagerank(g, alpha=0.85, tol=1e-10)["hub"], rel=1e-6)
    # A topic's leaders come from its own conversation only.
    sub = leaders.topic_leaders(edges, leaders.authors(today, neg), ["x1"], 0.85, 5)  # topic = x1 (e replies a)
    assert [r["author_id"] for r in sub] == ["a"]


# --- profiles ---------------------------------------------------------------------------------------------

D0 = date(2026, 11, 1)


def _day(lake_uri: str, reports: str, day: date, rows: list[tuple[str, str, str, str]]) -> None:
    """A partition of (author, platform, lang, label) posts with scores and one topic on every 'zh' post."""
    n = len(rows)
    ids = [f"{day:%m%d}-{i}" for i in range(n)]
    table = pa.table({
        "post_id": ids, "platform": [r[1] for r in rows], "author_id": [r[0] for r in rows],
        "text": ["t"] * n, "lang": [r[2] for r in rows],
        "created_at": pa.array([pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=i) for i in range(n)],
                               pa.timestamp("us", tz="UTC")),
        "parent_id": pa.nulls(n, pa.string()), "label": pa.nulls(n, pa.string()),
        "label_confidence": pa.nulls(n, pa.float32()), "source_file": ["f"] * n,
        "text_hash": pa.array(range(n), pa.uint64()), "pii_count": pa.array([0] * n, pa.int32())})
    lake.write_partition(lake_uri, day, table, {})
    cfg = ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(day), "reports_uri": reports})
    probs = np.array([[0.8 if r[3] == lab else 0.1 for lab in LABELS] for r in rows], np.float32).reshape(n, 3)
    buf = io.BytesIO()
    pq.write_table(pa.table({"post_id": ids, "label": [r[3] for r in rows],
                             **{f"p_{lab}": probs[:, i] for i, lab in enumerate(LABELS)}}), buf)
    storage.write_bytes(storage.join(day_dir(cfg), "scores.parquet"), buf.getvalue())
    storage.write_bytes(storage.join(day_dir(cfg), "scores.json"), json.dumps({"labels": list(LABELS)}).encode())
    buf = io.BytesIO()
    zh = [i for i, r in enumerate(rows) if r[2] == "zh"]
    pq.write_table(pa.table({"post_id": [ids[i] for i in zh], "topic_id": ["tZ"] * len(zh)}), buf)
    storage.write_bytes(storage.join(day_dir(cfg), "topic_posts.parquet"), buf.getvalue())
    storage.write_bytes(storage.join(day_dir(cfg), "topics.json"), json.dumps(
        {"topics": [{"id": "tZ", "label": "电池起火 · battery fire"}]}).encode())


DAYS = [
    [("A", "weibo", "zh", "negative"), ("A", "weibo", "zh", "negative"), ("B", "twitter", "en", "positive")],
    [("A", "douyin", "zh", "neutral"), ("C", "reddit", "en", "positive")],
    [("B", "twitter", "en", "negative"), ("A", "weibo", "en", "negative"), ("D", "weibo", "zh", "positive")],
]


def _profiles(tmp_path, **kw):
    from monitoring import profiles

    lake_uri, reports = str(tmp_path / "lake"), str(tmp_path / "reports")
    for k, rows in enumerate(DAYS):
        _day(lake_uri, reports, D0 + timedelta(days=k), rows)

    def cfg(k):
        return ReportConfig.from_dict({"lake_uri": lake_uri, "day": str(D0 + timedelta(days=k)),
                                       "reports_uri": reports, **kw})
    return profiles, cfg


def test_profiles_are_incremental_and_equal_a_full_rebuild(tmp_path):
    profiles, cfg = _profiles(tmp_path)
    results = [profiles.update_profiles(cfg(k)) for k in range(3)]
    assert [r["folded_days"] for r in results] == [["2026-11-01"], ["2026-11-02"], ["2026-11-03"]]  # no rescan
    assert results[2]["previous"] == "2026-11-02"
    nightly = profiles.read(cfg(2), D0 + timedelta(days=2))
    rows = {r["author_id"]: r for r in nightly.to_pylist()}
    a = rows["A"]
    assert (a["posts"], a["days_active"], a["negative"], a["neutral"], a["positive"]) == (4, 3, 3, 1, 0)
    assert a["tendency"] == "negative" and a["tendency_confidence"] == pytest.approx((3 + 1) / (4 + 3))
    assert dict(a["platforms"]) == {"weibo": 3, "douyin": 1} and dict(a["langs"]) == {"zh": 3, "en": 1}
    assert dict(a["topics"]) == {"tZ": 3}
    assert a["first_seen"].date() == D0 and a["last_seen"].date() == D0 + timedelta(days=2)
    assert rows["C"]["tendency"] == "positive" and rows["C"]["days_active"] == 1
    # The same table as one build over all three days from nothing.
    for k in range(3):
        storage.delete(storage.join(profiles.root(cfg(k)), f"dt={D0 + timedelta(days=k)}", profiles.MANIFEST))
    full = profiles.update_profiles(cfg(2))
    assert full["folded_days"] == ["2026-11-01", "2026-11-02", "2026-11-03"] and full["previous"] is None
    assert profiles.read(cfg(2), D0 + timedelta(days=2)).equals(nightly)


def test_profiles_rerun_is_idempotent_and_retention_drops_the_unseen(tmp_path):
    profiles, cfg = _profiles(tmp_path)
    for k in range(3):
        profiles.update_profiles(cfg(k))
    first = profiles.read(cfg(2), D0 + timedelta(days=2))
    profiles.update_profiles(cfg(2))  # a retry or rerun of the same night
    assert profiles.read(cfg(2), D0 + timedelta(days=2)).equals(first)
    _, short = _profiles(tmp_path, profile_retention_days=1, profile_snapshots=2)
    profiles.update_profiles(short(2))
    kept = {r["author_id"] for r in profiles.read(short(2), D0 + timedelta(days=2)).to_pylist()}
    assert kept == {"A", "B", "D"}  # C was last seen the day before: outside a 1-day window
    assert profiles._snapshots(short(2)) == [D0 + timedelta(days=1), D0 + timedelta(days=2)]  # older pruned


def test_a_profile_summary_lists_the_most_active_and_names_topics(tmp_path):
    profiles, cfg = _profiles(tmp_path)
    for k in range(3):
        r = profiles.update_profiles(cfg(k))
    s = json.loads(storage.read_bytes(r["summary_uri"]))
    assert s["authors"] == 4 and s["active_today"] == 3 and s["new_today"] == 1  # D is new on day 3
    assert s["most_active"][0]["author_id"] == "A" and s["most_active"][0]["topics"] == ["电池起火 · battery fire"]


# --- hostile input: any text, any reply graph ----------------------------------------------------------------


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.sampled_from(["电池起火", "pixel", "battery fire", "咖啡", "coffee", "[URL]", "13812345678", "a.b",
                         "(", "*", "\\", "\u200b", "🔥", "ＰＩＸＥＬ", "{{x}}"])


@FAST
@given(st.lists(st.lists(WORDS | st.text(max_size=8), max_size=6).map(" ".join), min_size=1, max_size=40),
       st.lists(WORDS | st.text(min_size=1, max_size=6), min_size=1, max_size=8, unique=True),
       st.floats(0.05, 1.0))
def test_clustering_any_texts_and_terms_never_crashes_and_accounts_for_every_post(texts, terms, link):
    neg = np.arange(len(texts)) % 2 == 0
    topics, members = clusters.build(texts, neg, [{"term": t, "posts": 1, "z": 5.0} for t in terms], link, 3)
    in_any = set()
    for t, idx in zip(topics, members, strict=True):
        assert t["posts"] == len(idx) == len(set(idx)) > 0 and 0 <= t["negative_share"] <= 1
        assert len(t["examples"]) <= 3 and not any("13812345678" in e for e in t["examples"])
        assert not in_any & set(t["terms"])  # a term is in one topic only
        in_any |= set(t["terms"])


@FAST
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from(["p0", "p1", "p2", "p3", "zz", None])),
                min_size=1, max_size=30))
def test_leaders_on_any_reply_graph_cycles_self_replies_and_dangling_parents(rows):
    posts = pd.DataFrame({"post_id": [f"p{i}" for i in range(len(rows))], "author_id": [a for a, _ in rows],
                          "parent_id": [p for _, p in rows]})
    edges = leaders.reply_edges(posts, pd.DataFrame({"post_id": ["zz"], "author_id": ["old"]}))
    assert (edges["src"] != edges["dst"]).all()
    ranked = leaders.rank(edges, leaders.authors(posts, np.zeros(len(rows), bool)), 0.85, 10)
    assert {r["author_id"] for r in ranked} <= set(edges["dst"]) and sum(r["replies"] for r in ranked) <= len(edges)
    assert [r["pagerank"] for r in ranked] == sorted((r["pagerank"] for r in ranked), reverse=True)
