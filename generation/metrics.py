"""Quality measures of generated text: distinct-n, repetition, length, safety hits; perplexity of pairs."""

from __future__ import annotations

import math
import re
from collections import Counter

from ugc import safety

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Words for Latin script, single characters for Chinese (no segmenter needed)."""
    return _TOKEN.findall(text.casefold())


def distinct_n(texts: list[str], n: int) -> float:
    """Unique n-grams / all n-grams over every text (higher = more varied)."""
    grams = [tuple(t[i:i + n]) for t in map(tokens, texts) for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(text: str, n: int = 3) -> float:
    """Share of a text's n-grams that repeat an earlier n-gram of the same text (degenerate loops -> 1)."""
    t = tokens(text)
    grams = [tuple(t[i:i + n]) for i in range(len(t) - n + 1)]
    if not grams:
        return 0.0
    return sum(c - 1 for c in Counter(grams).values()) / len(grams)


def summarize(outputs: list[str]) -> dict:
    verdicts = [safety.check(o) for o in outputs]
    n = max(len(outputs), 1)
    return {"n": len(outputs), "distinct_1": distinct_n(outputs, 1), "distinct_2": distinct_n(outputs, 2),
            "repetition": sum(map(repetition_rate, outputs)) / n,
            "mean_tokens": sum(len(tokens(o)) for o in outputs) / n,
            "empty_rate": sum(not o.strip() for o in outputs) / n,
            "safety_hit_rate": sum(v.blocked or bool(v.reasons) for v in verdicts) / n}


def perplexity(nll_sum: float, n_tokens: int) -> float:
    return math.exp(nll_sum / n_tokens) if n_tokens else float("inf")
