"""Hot topics: n-grams that are much more common today than over the trailing baseline.

Chinese has no spaces, so Han runs give character 2-4-grams; Latin text gives lower-cased words and
word bigrams. Counts are document frequencies (posts containing the term), so one spammy post
cannot make a topic. Redaction placeholders, numbers and stop words are not topics.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from itertools import repeat

from ugc.vocab import PLACEHOLDER_RE, STOP_EN, STOP_ZH_CHARS

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']+")
_PLACEHOLDER = re.compile(PLACEHOLDER_RE)


def terms(text: str, zh_sizes: tuple[int, ...] = (2, 3, 4)) -> set[str]:
    """The distinct topic terms of one post."""
    text = _PLACEHOLDER.sub(" ", text)
    out: set[str] = set()
    for run in _HAN.findall(text):
        for n in zh_sizes:
            for i in range(len(run) - n + 1):
                g = run[i:i + n]
                if g[0] not in STOP_ZH_CHARS and g[-1] not in STOP_ZH_CHARS:
                    out.add(g)
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP_EN]
    out.update(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return out


def document_frequencies(texts: Iterable[str], flags: Iterable[bool] | None = None) -> tuple[Counter, int, Counter]:
    """(term -> posts containing it, number of posts, term -> flagged posts containing it).

    ``flags`` marks posts (e.g. predicted negative) so each topic gets its own negative share in one pass.
    """
    df: Counter = Counter()
    flagged: Counter = Counter()
    n = 0
    for t, f in zip(texts, repeat(False) if flags is None else flags, strict=False):
        ts = terms(t)
        df.update(ts)
        if f:
            flagged.update(ts)
        n += 1
    return df, n, flagged


def top_terms(df: Counter, keep: int) -> tuple[dict[str, int], int]:
    """The ``keep`` most frequent terms, stored per day as tomorrow's baseline, and the count below which
    terms were dropped (0 when nothing was): a term missing from a truncated list is not a term never seen."""
    top = dict(df.most_common(keep))
    return top, (min(top.values()) if len(df) > keep and top else 0)


def hot_topics(today: Counter, n_today: int, baseline: list[tuple[dict, int, int]], top: int = 20,
               min_posts: int = 5, min_share: float = 0.002, prior: float = 0.5, min_z: float = 4.0) -> list[dict]:
    """Terms ranked by how far today's count exceeds what the baseline predicts.

    ``baseline`` holds (term counts, posts, truncation floor) per trailing day; a term missing from a
    truncated day counts as that day's floor (the most it can have had), so truncation cannot fake news.
    The score is a two-proportion z of today's share against the baseline's (smoothed by ``prior``
    posts), its standard error floored at sqrt(min_posts) / today's posts so a term seen 6 times today
    and never before does not outrank a story in hundreds of posts. Only z >= ``min_z`` is hot. A term must
    appear in ``min_posts`` posts and ``min_share`` of today's. A term is dropped when a longer kept term
    contains it with nearly the same count ("电池起" inside "电池起火"). Without a baseline, terms rank
    by count and carry no z.
    """
    if n_today == 0:
        return []
    base_posts = sum(n for _, n, _ in baseline)
    base_counts: Counter = Counter()
    for counts, _, _ in baseline:
        base_counts.update(counts)
    floor = max(min_posts, math.ceil(min_share * n_today))
    rows = []
    for term, c in today.items():
        if c < floor:
            continue
        row = {"term": term, "posts": c, "share": c / n_today, "baseline_share": None, "lift": None, "z": None}
        if base_posts:
            seen = base_counts.get(term, 0) + sum(f for counts, _, f in baseline if term not in counts)
            base_share = (seen + prior) / (base_posts + 2 * prior)
            # Two-proportion z: the baseline's share is an estimate too (a rare term's count wobbles
            # from day to day); the floor stops a handful of brand-new posts from looking like news.
            pooled = (c + seen) / (n_today + base_posts)
            se = math.sqrt(pooled * (1 - pooled) * (1 / n_today + 1 / base_posts))
            z = (row["share"] - base_share) / max(se, math.sqrt(min_posts) / n_today)
            if z < min_z:
                continue
            row.update(baseline_share=base_share, lift=row["share"] / base_share, z=z)
        rows.append(row)
    rows.sort(key=lambda r: (-(r["z"] if r["z"] is not None else r["posts"]), r["term"]))
    kept: list[dict] = []
    for r in rows:
        if any(r["term"] in k["term"] and k["posts"] >= 0.8 * r["posts"] for k in kept):
            continue
        kept = [k for k in kept if not (k["term"] in r["term"] and r["posts"] >= 0.8 * k["posts"])] + [r]
        if len(kept) >= top:
            break
    return kept
