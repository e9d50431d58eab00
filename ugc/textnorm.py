"""Text skeletons for matching what a text *says*, whatever it looks like: the safety filter's normaliser.

    skeleton("ｋ\u200bіll yоursеlf")  -> "kill yourself"   (NFKC, format characters, Cyrillic look-alikes)
    skeleton("自殺吧")                 -> "自杀吧"          (traditional -> simplified)
    units("去 si 吧")                  -> Han / digit / pinyin-syllable units with their toneless pinyin

Standard library only, plus ``ugc/data/safety_tables.json`` (built by scripts/build_safety_tables.py from the
Unicode confusables, OpenCC and pypinyin): this module is copied next to the Triton generator model.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "safety_tables.json")
RTL_CONTROLS = "\u202b\u202e\u2067"  # RLE, RLO, RLI: text after them renders right-to-left
DIGIT_PINYIN = {"0": "ling", "1": "yi", "2": "er", "3": "san", "4": "si", "5": "wu", "6": "liu", "7": "qi",
                "8": "ba", "9": "jiu"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def tables() -> dict:
    with open(TABLES, encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def _char_map() -> dict[str, str]:
    t = tables()
    return {**t["t2s"], **t["confusables"]}


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def pinyin(ch: str) -> str:
    """Toneless pinyin of a Han character ("" when unknown)."""
    return tables()["pinyin"].get(ch, "")


def skeleton(text: str) -> str:
    """NFKC, no format characters (zero-width, soft hyphen, bidi controls) or combining marks, case-folded,
    look-alike letters mapped to ASCII, traditional Chinese mapped to simplified."""
    t = unicodedata.normalize("NFKC", text)
    t = unicodedata.normalize("NFKD", "".join(c for c in t if unicodedata.category(c) != "Cf"))
    t = unicodedata.normalize("NFC", "".join(c for c in t if unicodedata.category(c) not in ("Mn", "Me")))
    m = _char_map()
    return "".join(m.get(c, c) for c in t.casefold())


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    return frozenset(tables()["pinyin"].values())


def split_pinyin(word: str) -> list[str] | None:
    """``word`` as a sequence of pinyin syllables (longest first), or None when it is not pinyin."""
    syl, n = syllables(), len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[n] = []
    for i in range(n - 1, -1, -1):
        for j in range(min(n, i + 6), i, -1):
            if word[i:j] in syl and best[j] is not None:
                best[i] = [word[i:j], *best[j]]
                break
    return best[0]


@dataclass(frozen=True)
class Unit:
    kind: str  # han | digit | syllable | initial
    text: str
    pinyin: str
    start: int  # position in the collapsed string (separators removed)
    run: tuple[int, int]  # (first, last) unit index of the Latin word it came from, for whole-word checks


def units(skel: str) -> tuple[list[Unit], str]:
    """Han characters, digits and pinyin syllables of a skeleton, in order, separators dropped; and the
    collapsed string (what a word segmenter sees)."""
    out: list[Unit] = []
    collapsed: list[str] = []
    pos = 0
    for m in re.finditer(r"[a-z]+|[0-9]|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", skel):
        tok = m.group(0)
        collapsed.append(tok)
        pos += len(tok)
        pos_tok = pos - len(tok)
        if tok.isdigit():
            out.append(Unit("digit", tok, DIGIT_PINYIN[tok], pos_tok, (len(out), len(out))))
        elif is_han(tok):
            out.append(Unit("han", tok, pinyin(tok), pos_tok, (len(out), len(out))))
        else:
            parts = split_pinyin(tok)
            if parts is None:
                if len(tok) == 1:  # "傻B": an initial standing for a syllable
                    out.append(Unit("initial", tok, tok, pos_tok, (len(out), len(out))))
                else:
                    out.append(Unit("word", tok, "", pos_tok, (len(out), len(out))))
                continue
            first, off = len(out), pos_tok
            for p in parts:
                out.append(Unit("syllable", p, p, off, (first, first + len(parts) - 1)))
                off += len(p)
    return out, "".join(collapsed)
