"""Topics, not n-grams: hot terms that ride on the same posts become one topic with a stable id.

One story yields many hot terms ("电池起火", "battery fire", "pixel", fragments of one template), so a
list of terms reads as twenty topics. Here two hot terms are linked when the smaller one's posts mostly
contain the larger one too (overlap coefficient |A∩B| / min(|A|,|B|) >= ``link``), and a topic is a
connected component of that graph (scipy.sparse.csgraph). The overlap coefficient rather than Jaccard:
a Chinese and an English phrasing of one story share no posts with each other but both sit inside the
posts naming the brand, which links them; a generic term cannot glue stories together because only
terms that are hot today take part.

A topic keeps an earlier day's id when their term sets overlap (Jaccard >= ``match``), so a story that
runs for days is one row with a trajectory, not a new topic each night.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from monitoring import topics
from ugc import vocab

_HAN = re.compile(r"[\u3400-\u9fff]")
_DIGITS = re.compile(r"[\d#]+")
MIN_POSTS = 5  # a day with fewer posts on a topic has not "seen" it (the hot-term floor, topics.hot_topics)


def incidence(texts: list[str], candidates: list[str]):
    """Sparse boolean posts x candidates matrix: which post contains which term (as ``topics.terms`` defines)."""
    from scipy import sparse

    index = {t: j for j, t in enumerate(candidates)}
    rows: list[int] = []
    cols: list[int] = []
    if candidates:
        # One C-level regex pass finds the few posts worth tokenising; terms() then decides exactly.
        pre = re.compile("|".join(re.escape(t) for t in sorted(candidates, key=len, reverse=True)))
        for i, text in enumerate(texts):
            if pre.search(text.lower()):
                for t in topics.terms(text) & index.keys():
                    rows.append(i)
                    cols.append(index[t])
    data = np.ones(len(rows), dtype=np.int32)
    return sparse.csc_matrix((data, (rows, cols)), shape=(len(texts), len(candidates)))


def link_components(m, link: float) -> list[list[int]]:
    """Groups of candidate columns linked by overlap coefficient >= ``link``; largest group first."""
    from scipy.sparse.csgraph import connected_components

    co = (m.T @ m).toarray().astype(np.float64)  # co[i, j] = posts containing both terms
    size = np.diag(co).copy()
    smaller = np.minimum.outer(size, size)
    adj = (co >= link * np.maximum(smaller, 1)) & (smaller > 0)
    _, comp = connected_components(adj, directed=False)
    groups: dict[int, list[int]] = {}
    for j, c in enumerate(comp):
        groups.setdefault(int(c), []).append(j)
    return sorted(groups.values(), key=lambda g: (-max(size[g], default=0), g))


def label(terms: list[str], k: int = 2) -> str:
    """Up to ``k`` Chinese and ``k`` Latin terms, most posts first (a topic is named in both languages)."""
    zh = [t for t in terms if _HAN.search(t)][:k]
    en = [t for t in terms if not _HAN.search(t)][:k]
    return " · ".join(zh + en)


def build(texts: list[str], negative: np.ndarray, hot: list[dict], link: float, examples: int) -> tuple[list[dict], list]:
    """Cluster today's hot terms (``hot``: rows of ``topics.hot_topics``) into topics.

    Returns (topics, per-topic arrays of post indices). Each topic: terms (most posts first), label,
    posts (distinct posts containing any of its terms), negative_share, z (its best term's), examples.
    """
    candidates = [h["term"] for h in hot]
    if not candidates or not texts:
        return [], []
    m = incidence(texts, candidates)
    by_term = {h["term"]: h for h in hot}
    out, members = [], []
    for group in link_components(m, link):
        sub = m[:, group]
        hits = np.asarray(sub.sum(axis=1)).ravel()
        idx = np.flatnonzero(hits)
        if not len(idx):
            continue
        terms_sorted = sorted((candidates[j] for j in group), key=lambda t: (-by_term[t]["posts"], t))
        # Representative posts: the most of the topic's terms, distinct texts (digits aside: "…2631100000楼"
        # and "…2631100304楼" are the same post to a reader), in post order on ties.
        order = idx[np.argsort(-hits[idx], kind="stable")]
        seen, ex = set(), []
        for i in order:
            red = vocab.redact(texts[i])[0]
            key = _DIGITS.sub("", red).strip()
            if key not in seen:
                seen.add(key)
                ex.append(red)
            if len(ex) >= examples:
                break
        zs = [by_term[t]["z"] for t in terms_sorted if by_term[t]["z"] is not None]
        out.append({"terms": terms_sorted, "label": label(terms_sorted), "posts": int(len(idx)),
                    "negative_share": float(negative[idx].mean()), "z": max(zs) if zs else None, "examples": ex})
        members.append(idx)
    return out, members


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a or b else 0.0


def new_id(day: str, terms: list[str]) -> str:
    """A topic's id where it first appears: deterministic, so a rerun of the day names it the same."""
    return "t" + hashlib.sha1(f"{day}|{'|'.join(sorted(terms))}".encode()).hexdigest()[:10]


def assign_ids(day: str, today: list[dict], earlier: list[list[dict]], match: float) -> None:
    """Give each of today's topics the id of the best-matching earlier topic (``earlier``: most recent day
    first), else a new id; one earlier topic names at most one topic today (the better match wins)."""
    pairs = []
    for i, t in enumerate(today):
        for age, day_topics in enumerate(earlier):
            for e in day_topics:
                s = jaccard(t["terms"], e["terms"])
                if s >= match:
                    pairs.append((-s, age, i, e["id"]))
    taken_ids, named = set(), {}
    for _, _, i, tid in sorted(pairs):
        if i not in named and tid not in taken_ids:
            named[i] = tid
            taken_ids.add(tid)
    for i, t in enumerate(today):
        t["id"] = named.get(i) or new_id(day, t["terms"])


def daily_volume(terms: list[str], counts: dict[str, int]) -> int:
    """A day's posts on a topic from that day's stored term counts: the largest term's count, a lower bound
    of the union that needs no re-read of the day's posts (and is what today is compared with too)."""
    return max((counts.get(t, 0) for t in terms), default=0)


def state(shares: list[float | None], counts: list[int | None], min_posts: int) -> str:
    """new / rising / steady / fading from a topic's daily shares (oldest first, today last).

    new: no earlier day had ``min_posts`` posts on it; rising: today >= 1.25x yesterday and above the
    earlier mean; fading: today <= 0.8x the earlier peak; else steady.
    """
    today = shares[-1] or 0.0
    prev = [s for s, c in zip(shares[:-1], counts[:-1], strict=True) if s is not None and (c or 0) >= min_posts]
    if not prev:
        return "new"
    last = shares[-2] or 0.0
    if today >= 1.25 * last and today > float(np.mean([s or 0.0 for s in shares[:-1] if s is not None])):
        return "rising"
    if today <= 0.8 * max(prev):
        return "fading"
    return "steady"
