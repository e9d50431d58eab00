"""Opinion leaders: who draws replies, and whose posts the conversation flows toward.

The reply graph has one edge per (replier, replied-to author) pair weighted by replies, built from
today's posts whose ``parent_id`` is a post of today or of the trailing ``leader_days`` (threads cross
midnight). Self-replies are left out (talking to yourself is not reach). Reach is PageRank on that
graph (power iteration on a scipy sparse matrix): an author replied to by authors who are
themselves replied to ranks above one with the same number of replies from nobodies. Author ids are the
lake's salted hashes; nothing else about a person is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def reply_edges(today: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """Replies of today resolved to their parent's author: columns post_id, src (replier), dst (replied-to
    author), parent_id. ``today`` has post_id, author_id, parent_id; ``earlier`` post_id, author_id."""
    lookup = pd.concat([today[["post_id", "author_id"]], earlier[["post_id", "author_id"]]], ignore_index=True)
    lookup = lookup.drop_duplicates("post_id", keep="first").rename(columns={"post_id": "parent_id", "author_id": "dst"})
    replies = today.loc[today["parent_id"].notna(), ["post_id", "author_id", "parent_id"]]
    e = replies.merge(lookup, on="parent_id", how="inner").rename(columns={"author_id": "src"})
    return e.loc[e["src"] != e["dst"], ["post_id", "src", "dst", "parent_id"]].reset_index(drop=True)


def pagerank(edges: pd.DataFrame, damping: float, tol: float = 1e-10, max_iter: int = 200) -> dict[str, float]:
    """PageRank of authors on the weighted reply graph (replier -> replied-to); {} without edges.

    Power iteration on a scipy sparse matrix with networkx's conventions (uniform teleport, dangling
    authors' rank spread uniformly), checked against ``networkx.pagerank`` in the tests. Written out because
    networkx first builds a Python object per node and edge: 4.5 s of a 1M-post day, this takes a fraction.
    """
    from scipy import sparse

    if edges.empty:
        return {}
    w = edges.groupby(["src", "dst"], sort=False).size()
    src = w.index.get_level_values(0).to_numpy()
    dst = w.index.get_level_values(1).to_numpy()
    names, inv = np.unique(np.concatenate([src, dst]), return_inverse=True)
    n = len(names)
    m = sparse.csr_matrix((w.to_numpy(np.float64), (inv[:len(src)], inv[len(src):])), shape=(n, n))
    out = np.asarray(m.sum(axis=1)).ravel()
    p = sparse.diags(np.divide(1.0, out, out=np.zeros(n), where=out > 0)) @ m  # row-stochastic
    dangling = out == 0
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        new = damping * (p.T @ x + x[dangling].sum() / n) + (1 - damping) / n
        done = np.abs(new - x).sum() < n * tol
        x = new
        if done:
            break
    return dict(zip(names.tolist(), x.tolist(), strict=True))


@dataclass
class Authors:
    """Per-author facts of the day, computed once and shared by every ranking (overall and per topic)."""

    post_negative: pd.Series  # post_id -> predicted negative
    posts: pd.Series  # author -> posts today
    negative_share: pd.Series  # author -> share of their posts predicted negative
    topics: dict[str, set]  # author -> topics they posted in


def authors(posts: pd.DataFrame, negative: np.ndarray, topic_of_post: dict[str, list[str]] | None = None) -> Authors:
    """Vectorised per-author facts: a 1M-post day must not loop over posts in Python."""
    neg = negative.astype(bool)
    own = pd.DataFrame({"author_id": posts["author_id"], "neg": neg}).groupby("author_id")["neg"]
    topics: dict[str, set] = {}
    if topic_of_post:
        in_topics = posts.loc[posts["post_id"].isin(topic_of_post.keys()), ["post_id", "author_id"]]
        for pid, aid in zip(in_topics["post_id"], in_topics["author_id"], strict=True):
            topics.setdefault(aid, set()).update(topic_of_post[pid])
    return Authors(pd.Series(neg, index=posts["post_id"].to_numpy()), own.size(), own.mean(), topics)


def rank(edges: pd.DataFrame, who: Authors, damping: float, top: int) -> list[dict]:
    """The ``top`` authors by PageRank with replies received, distinct repliers, today's posts, the
    negative share of their posts and of the replies they drew, and the topics they posted in."""
    pr = pagerank(edges, damping)
    if not pr:
        return []
    e = edges.assign(neg=edges["post_id"].map(who.post_negative).fillna(False).astype(bool))
    recv = e.groupby("dst").agg(replies=("post_id", "size"), repliers=("src", "nunique"), neg=("neg", "mean"))
    out = []
    for a, score in sorted(pr.items(), key=lambda kv: (-kv[1], kv[0])):
        if a not in recv.index:
            continue  # reach without a single reply is only PageRank's teleport share
        r = recv.loc[a]
        out.append({"author_id": a, "pagerank": float(score), "replies": int(r["replies"]),
                    "repliers": int(r["repliers"]), "reply_negative_share": float(r["neg"]),
                    "posts": int(who.posts.get(a, 0)),
                    "negative_share": float(who.negative_share[a]) if a in who.negative_share else None,
                    "topics": sorted(who.topics.get(a, ()))})
        if len(out) >= top:
            break
    return out


def topic_leaders(edges: pd.DataFrame, who: Authors, topic_post_ids, damping: float, top: int) -> list[dict]:
    """Leaders of one topic: PageRank on the topic's own conversation (replies written in the topic or to
    one of its posts), so reach elsewhere does not make a topic's leader."""
    ids = set(topic_post_ids)
    return rank(edges[edges["parent_id"].isin(ids) | edges["post_id"].isin(ids)], who, damping, top)
