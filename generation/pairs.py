"""Instruction pairs for the generation model, built from lake partitions.

    reply    the thread so far (up to textgen.MAX_TURNS turns up the parent_id chain, roles marked)
                                                -> the reply (every post that has a parent)
    ad_copy  "keywords: k1, k2" of a positive post -> that post (people praising a product, in their words)
    rewrite  "[plain] text" / "[concise] text"   -> the text without emoji/#tags/@mentions, or its first clause

Outputs that carry redacted PII, hit the safety filter, or are empty after clean-up are excluded with
a reason (counted in the manifest): the model must not learn to produce them. Reserved posts (the Taobao
R10 test dialogues, ``ugc.splits.RESERVED_PREFIX``) are never used. Splits are by thread root (all turns of
one conversation fall on one side), hashed with a fixed salt, so a pair never moves between train and test
when more data arrives.

    {work}/pairs/{train,test}.parquet + manifest.json
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from generation.config import GenConfig
from ugc import lake, safety, storage, textgen
from ugc.errors import ConfigError
from ugc.splits import RESERVED_PREFIX, buckets, read_split, write_split
from ugc.vocab import EN_TAGS, PLACEHOLDER_RE, STOP_EN, STOP_ZH_CHARS, STOP_ZH_WORDS

_SALT = "ugc-generation-split-v1"
TEST_FRACTION = 0.1
COLUMNS = ["post_id", "text", "lang", "label", "parent_id"]
# Day-unique ids ("#2331700012", "2331700012楼") and ingest placeholders carry no content to imitate.
_ID = re.compile(r"\s*(?:#\d{5,}|\d{5,}楼)")
_PLACEHOLDER = re.compile(PLACEHOLDER_RE)


def _strip_ids(text: str) -> str:
    return " ".join(_ID.sub("", text).split())


def keywords(text: str, k: int = 3) -> list[str]:
    """Up to ``k`` content words: English words of 3+ letters, Chinese runs split at function words."""
    out = []
    for run in re.findall(r"[A-Za-z][A-Za-z'\-]{2,}|[\u4e00-\u9fff]+", text):
        if run.isascii():
            if run.lower() not in STOP_EN | EN_TAGS:
                out.append(run)  # as written: brand names keep their capitals
            continue
        for w in STOP_ZH_WORDS:
            run = run.replace(w, " ")
        out += [c for c in re.split("[" + "".join(sorted(STOP_ZH_CHARS)) + r"\s]+", run) if 2 <= len(c) <= 4]
    return list(dict.fromkeys(out))[:k]


def plain(text: str) -> str:
    """Without emoji/symbols, #tags, @mentions and repeated punctuation."""
    t = "".join(c for c in text if unicodedata.category(c) not in ("So", "Sk", "Cs") and c != "\ufe0f")
    t = re.sub(r"[#@]\w+", " ", t)
    t = re.sub(r"\b(?:" + "|".join(sorted(EN_TAGS)) + r")\b", " ", t)
    t = re.sub(r"([!?！？。.,，])\1+", r"\1", t)
    return " ".join(t.split()).strip(" ,，")


def concise(text: str) -> str:
    """The first clause, when the text has more than one."""
    parts = [p.strip() for p in re.split(r"[，,。.!！?？;；]", text) if p.strip()]
    return parts[0] if len(parts) > 1 else ""


def _thread(r: dict, by_id: dict) -> tuple[list[str], str]:
    """(the turns before ``r``, oldest first, at most textgen.MAX_TURNS; the root's post id). A parent_id cycle
    (hostile input) stops the walk."""
    turns, seen, root = [], {r["post_id"]}, r
    while root["parent_id"] in by_id and root["parent_id"] not in seen:
        root = by_id[root["parent_id"]]
        seen.add(root["post_id"])
        if len(turns) < textgen.MAX_TURNS:
            turns.append(_strip_ids(root["text"]))
    return turns[::-1], root["post_id"]


def _pairs_from(rows: list[dict], tasks: tuple[str, ...], excluded: Counter) -> list[dict]:
    held = [r for r in rows if r["post_id"].startswith(RESERVED_PREFIX)]
    by_id = {r["post_id"]: r for r in held}
    # The reply inputs of reserved dialogues: a training pair with the same input ("[user] 你好") would teach the
    # answer to a test question, so it is left out too.
    reserved_inputs = {_strip_ids(textgen.thread(_thread(r, by_id)[0])) for r in held if r["parent_id"] in by_id}
    if held:
        excluded["reserved"] += len(held)
        rows = [r for r in rows if not r["post_id"].startswith(RESERVED_PREFIX)]
    by_id = {r["post_id"]: r for r in rows}
    terms = safety.banned_terms()
    out = []

    def add(task: str, inp: str, target: str, key: str, lang: str) -> None:
        target = _strip_ids(target)
        if task == "reply" and _strip_ids(inp) in reserved_inputs:
            excluded["reply:reserved_context"] += 1
        elif not target or not inp.strip():
            excluded[f"{task}:empty"] += 1
        elif _PLACEHOLDER.search(target):
            excluded[f"{task}:pii_in_output"] += 1
        elif safety.check(target, terms).blocked:
            excluded[f"{task}:unsafe_output"] += 1
        else:
            out.append({"task": task, "input": _strip_ids(inp), "output": target, "key": key, "lang": lang})

    for r in rows:
        text, clean = r["text"], _strip_ids(r["text"])
        if "reply" in tasks and r["parent_id"] and r["parent_id"] in by_id:
            turns, root = _thread(r, by_id)
            add("reply", textgen.thread(turns), text, root, r["lang"])
        if "ad_copy" in tasks and r["label"] == "positive":
            kws = keywords(clean)
            if kws:
                add("ad_copy", "keywords: " + ", ".join(kws), plain(text), r["post_id"], r["lang"])
            else:
                excluded["ad_copy:no_keywords"] += 1
        if "rewrite" in tasks:
            for style, fn in (("plain", plain), ("concise", concise)):
                target = fn(clean)
                if target and target != clean:
                    add("rewrite", f"[{style}] {clean}", target, r["post_id"], r["lang"])
    return out


def build(cfg: GenConfig) -> dict:
    """Pairs from the configured partitions -> train/test parquet + manifest (returned, with its URI)."""
    rows, lineage, excluded = [], [], Counter()
    for day in cfg.partitions():
        uri = lake.partition_uri(cfg.lake_uri, day)
        rows += lake.read_partition(uri, columns=COLUMNS).to_pylist()
        lineage.append({"day": day.isoformat(), "uri": uri, "snapshot_id": lake.read_manifest(uri)["snapshot_id"]})
    pairs = _pairs_from(rows, cfg.tasks, excluded)
    if not pairs:
        raise ConfigError(f"no {list(cfg.tasks)} pairs could be built from {len(rows)} posts")
    table = pa.Table.from_pylist(pairs)
    bucket = buckets(table["key"], _SALT)
    is_test = bucket < TEST_FRACTION
    test, train = table.filter(pa.array(is_test)), table.filter(pa.array(~is_test))
    # Cap training pairs per task, deterministically (lowest bucket first), so one task cannot swamp the rest.
    train = train.append_column("_b", pa.array(bucket[~is_test])).sort_by("_b")
    keep = pc.less_equal(_rank_within(train["task"].to_pylist()), cfg.max_pairs_per_task)
    train = train.filter(keep).drop_columns(["_b"])
    negatives: Counter = Counter()
    if cfg.rank_negatives:
        train = _with_negatives(train, cfg.rank_negatives, cfg.seed, _corpus_negatives(cfg.corpus_negatives),
                                negatives)
    base = storage.join(cfg.work, "pairs")
    shas = {name: write_split(storage.join(base, f"{name}.parquet"), t) for name, t in (("train", train), ("test", test))}
    manifest = {"train_uri": storage.join(base, "train.parquet"), "test_uri": storage.join(base, "test.parquet"),
                "rows": {"train": train.num_rows, "test": test.num_rows, "posts": len(rows)},
                "tasks": {n: dict(Counter(t["task"].to_pylist())) for n, t in (("train", train), ("test", test))},
                "excluded": dict(sorted(excluded.items())), "negatives": dict(negatives), "partitions": lineage,
                "snapshot_id": hashlib.sha256(f"{shas['train']}:{shas['test']}".encode()).hexdigest()[:16]}
    uri = storage.join(base, "manifest.json")
    storage.write_bytes(uri, json.dumps(manifest, indent=1, ensure_ascii=False).encode())
    return {**manifest, "manifest_uri": uri}


def _corpus_negatives(names: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """(reply input, true reply) -> a corpus's labelled wrong replies for that context, keyed as _pairs_from keys
    the lake's threads (ids stripped, the last textgen.MAX_TURNS turns)."""
    from ugc import dialogues

    readers = {"taobao": dialogues.taobao_dev_distractors}  # GenConfig.corpus_negatives admits these names
    out: dict[tuple[str, str], list[str]] = {}
    for name in names:
        for (*context, true), wrong in readers[name]().items():
            key = (_strip_ids(textgen.thread([_strip_ids(t) for t in context])), _strip_ids(true))
            out.setdefault(key, []).extend(_strip_ids(w) for w in wrong)
    return out


def _with_negatives(train: pa.Table, k: int, seed: int, known: dict | None = None,
                    counts: Counter | None = None) -> pa.Table:
    """A ``negatives`` column: k wrong replies per reply pair (empty for the other tasks), fixed here so that a
    resumed or repeated run trains on the same ones. A corpus's labelled wrong replies for the pair (``known``)
    come first; the rest are mined from other training conversations (generation.selection)."""
    from generation.selection import mine_negatives

    rows = train.to_pylist()
    idx = [i for i, r in enumerate(rows) if r["task"] == "reply"]
    mined = mine_negatives([rows[i]["input"] for i in idx], [rows[i]["output"] for i in idx],
                           [rows[i]["key"] for i in idx], k, seed)
    negatives: list[list[str]] = [[] for _ in rows]
    for i, n in zip(idx, mined, strict=True):
        given = [w for w in dict.fromkeys((known or {}).get((rows[i]["input"], rows[i]["output"]), []))
                 if w and w != rows[i]["output"]][:k]
        if given and counts is not None:
            counts["from_corpus"] += len(given)
            counts["pairs_with_corpus_negatives"] += 1
        negatives[i] = given + [m for m in n if m not in given][: k - len(given)]
    return train.append_column("negatives", pa.array(negatives, type=pa.list_(pa.string())))


def _rank_within(groups: list[str]) -> pa.Array:
    seen: Counter = Counter()
    ranks = []
    for g in groups:
        seen[g] += 1
        ranks.append(seen[g])
    return pa.array(ranks)


def read(manifest_uri: str) -> tuple[dict, pa.Table, pa.Table]:
    m = json.loads(storage.read_bytes(manifest_uri))
    return m, read_split(m["train_uri"]), read_split(m["test_uri"])
