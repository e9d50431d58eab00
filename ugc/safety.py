"""Safety filter for generated text: banned terms block the text, PII is redacted again.

Runs inside the Triton ``generator`` model on every output (this file, ``textnorm``, ``vocab``, ``settings`` and
``data/safety_tables.json`` are copied next to it), and in evaluation.

Matching is on what the text says, not how it is spelled (``textnorm.skeleton``): full-width forms, zero-width
and bidi characters, soft hyphens, accents and Cyrillic/Greek look-alikes are folded, traditional Chinese is
simplified, and a right-to-left override is read backwards too. Then

- a Latin term ("kill yourself") matches with any separators between its letters ("k.i.l.l-your self"),
  repeated letters and leetspeak digits ("k1ll y0urs3lf"), on word boundaries ("skill yourself" is fine);
- a Chinese term ("去死") matches character by character, each character as written, as a homophone (same
  toneless pinyin: "煞笔" for "傻逼", "去4"), as its pinyin ("qu si", "zi sha") or, next to one kept character,
  its initial ("傻B"), and only on word boundaries of a segmenter (jieba): "我们去死海旅游" is not "去死".
  A homophone that is itself a common word ("紫砂" clay) is not read as the term.

    check("call me at 13812345678")  -> Verdict(text="call me at [PHONE]", blocked=False, reasons=["pii:phone"])
    check("you should kill yourself") -> Verdict(text="", blocked=True, reasons=["banned:kill yourself"])
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from ugc import settings, textnorm, vocab

# A conservative default list (zh + en): self-harm incitement, violence, scams / illegal trade, slurs.
# Deployments extend it with UGC_BANNED_TERMS_FILE (one term per line) or the ``extra`` argument.
DEFAULT_BANNED = (
    "kill yourself", "kys", "go die", "i will kill you", "bomb threat", "buy followers", "fake invoice",
    "wire me money", "crypto giveaway", "retard", "去死", "自杀吧", "杀了你", "炸弹", "代开发票", "刷单",
    "赌博网站", "裸聊", "贷款秒批", "傻逼", "脑残",
)
# Leetspeak and symbol stand-ins per letter (look-alike *letters* are folded by the skeleton already).
_LEET = {"a": "a4@", "b": "b8", "e": "e3", "g": "g96", "i": "i1!|l", "l": "l1|i", "o": "o0", "s": "s5$z",
         "t": "t7+", "z": "z2s"}
_COMMON_WORD = 20  # jieba frequency above which a homophone is a word of its own ("紫砂" 57), not a disguise
_PARTICLES = frozenset("吧啊呀了呢吗啦哦嘛咯")  # "去死吧" is one jieba word, and still "去死"
# Everyday words that carry a banned term's characters but are missing from jieba's dictionary (slang,
# products): taught to the segmenter, so "死磕" (to persevere) or "炸蛋" (fried egg) are words of their own.
KNOWN_WORDS = ("死磕", "死忠", "死宅", "死党", "死皮", "去死皮", "去死角", "炸蛋", "炸弹鱼", "紫砂")


@dataclass(frozen=True)
class Verdict:
    text: str  # what may be returned ("" when blocked)
    blocked: bool
    reasons: list[str] = field(default_factory=list)


def banned_terms(extra: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    terms = list(DEFAULT_BANNED) + list(extra)
    path = settings.BANNED_TERMS_FILE.get()
    if path:
        with open(path, encoding="utf-8") as f:
            terms += [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return tuple(dict.fromkeys(" ".join(textnorm.skeleton(t).split()) for t in terms))


def _letter(ch: str) -> str:
    return f"[{re.escape(_LEET[ch])}]+" if ch in _LEET else f"(?:{re.escape(ch)})+"


@lru_cache(maxsize=64)
def _latin_pattern(term: str) -> re.Pattern:
    """Either every letter spaced out ("k i l l  y o u"), or words whose letters only punctuation splits
    ("k.i.l.l-your_self", "k1ll yourself", "killyourself") - a space inside a word ("fake in voice") is a
    different word. Never inside a longer word, nor before "-word" ("go die-hard")."""
    letters = [c for c in term if c != " "]
    spaced = r"[\W_]+".join(_letter(c) for c in letters)
    words = r"[\W_]*".join(r"[^\w\s]*".join(_letter(c) for c in w) for w in term.split())
    return re.compile(rf"(?<![a-z0-9])(?:{spaced}|{words})(?![a-z0-9]|-[a-z])")


@lru_cache(maxsize=1)
def _segmenter():
    try:
        import logging

        import jieba

        jieba.setLogLevel(logging.ERROR)
        tok = jieba.Tokenizer()
        tok.initialize()
        for w in KNOWN_WORDS:
            tok.add_word(w, freq=100)
        return tok
    except ImportError:  # without a segmenter every position is a boundary (more false blocks, no bypass)
        return None


def _boundaries(collapsed: str) -> tuple[set[int], dict]:
    seg = _segmenter()
    if seg is None:
        return set(range(len(collapsed) + 1)), {}
    cuts, pos = {0}, 0
    for w in seg.lcut(collapsed, HMM=False):
        pos += len(w)
        cuts.add(pos)
    return cuts, seg.FREQ


@lru_cache(maxsize=4096)
def _wanted(term: str) -> tuple[tuple[str, str], ...]:
    return tuple((c, textnorm.pinyin(c)) for c in term if textnorm.is_han(c))


def _chinese_hit(term: str, skel: str, parsed: tuple[list, str]) -> bool:
    """``parsed``: textnorm.units(skel), computed once per text for all terms."""
    if len(term) == 1:  # one character has no word to be inside of: banned wherever it stands
        return term in skel
    units, collapsed = parsed
    want = _wanted(term)
    n = len(want)
    cuts, freq = None, {}
    for i in range(len(units) - n + 1):
        window = units[i:i + n]
        kinds = []
        for u, (c, py) in zip(window, want, strict=True):
            if u.kind == "han" and u.text == c:
                kinds.append("orig")
            elif u.kind in ("han", "digit", "syllable") and py and u.pinyin == py:
                kinds.append({"han": "hom", "digit": "digit", "syllable": "syl"}[u.kind])
            elif u.kind == "initial" and py and u.text == py[0]:
                kinds.append("init")
            else:
                break
        else:
            if all(k == "syl" for k in kinds):  # pure pinyin: whole Latin words only ("qusi", "qu si")
                if window[0].run[0] == i and window[-1].run[1] == i + n - 1:
                    return True
                continue
            if "orig" not in kinds and ("hom" not in kinds or "init" in kinds):
                continue  # "SB", "44": nothing of the term is left
            if cuts is None:
                cuts, freq = _boundaries(collapsed)
            start, end = window[0].start, window[-1].start + len(window[-1].text)
            tail = next((c for c in sorted(cuts) if c >= end), end)
            if start not in cuts or not set(collapsed[end:tail]) <= _PARTICLES:
                continue  # inside a longer word: "去死海", "去死皮", "抹杀了你"
            written = collapsed[start:end]
            if written != term and freq.get(written, 0) >= _COMMON_WORD:
                continue
            return True
    return False


def _hits(skel: str, terms: tuple[str, ...]) -> list[str]:
    out, parsed = [], None
    for t in terms:
        if any(textnorm.is_han(c) for c in t):
            parsed = parsed or textnorm.units(skel)
            if _chinese_hit(t, skel, parsed):
                out.append(t)
        elif _latin_pattern(t).search(skel):
            out.append(t)
    return out


def _fold_for_pii(text: str) -> str:
    """Full-width and styled digits/letters/@.+- to ASCII (so "１３８…" cannot hide a phone number), leaving
    Chinese punctuation as it was written."""
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c)
        out.append(n if n != c and n.isascii() and len(n) == 1 and (n.isalnum() or n in "@.+-_:") else c)
    return "".join(out)


def check(text: str, terms: tuple[str, ...] | None = None) -> Verdict:
    """Block on any banned term, else redact PII; the reasons name what was found."""
    terms = banned_terms() if terms is None else terms
    skel = " ".join(textnorm.skeleton(text).split())
    hits = _hits(skel, terms)
    if any(c in text for c in textnorm.RTL_CONTROLS):  # what the reader sees is the reversed string
        hits += [t for t in _hits(skel[::-1], terms) if t not in hits]
    if hits:
        return Verdict("", True, [f"banned:{t}" for t in hits])
    redacted, kinds = vocab.redact(_fold_for_pii(text))
    return Verdict(redacted, False, [f"pii:{k}" for k in kinds])


# Streamed text leaves the server clause by clause: a phone number or a banned word arrives over several tokens,
# so nothing is sent before the clause that holds it is complete and the whole text so far has been checked.
_CLAUSE_END = re.compile(r"[。！？!?；;，,、\n]|[.](?=\s)")


class StreamFilter:
    """Feed generated pieces; get back the text that may be sent now. Once blocked, nothing more is sent.

    Each release re-checks everything generated so far and sends only what extends the text already sent, so a
    redaction or a ban that only a later token reveals is never undone by what already left."""

    def __init__(self, terms: tuple[str, ...] | None = None):
        self.terms = banned_terms() if terms is None else terms
        self.raw, self.sent, self.blocked, self.reasons = "", "", False, []

    def _release(self, upto: int) -> str:
        v = check(self.raw[:upto], self.terms)
        self.reasons = sorted(set(self.reasons) | set(v.reasons))
        if v.blocked:
            self.blocked = True
            return ""
        if not v.text.startswith(self.sent):  # a redaction reached into text already sent: stop here
            self.blocked = True
            self.reasons = sorted(set(self.reasons) | {"stream:retracted"})
            return ""
        out, self.sent = v.text[len(self.sent):], v.text
        return out

    def feed(self, piece: str) -> str:
        if self.blocked:
            return ""
        self.raw = (self.raw + piece).lstrip()  # as textgen.generate trims a reply
        ends = [m.end() for m in _CLAUSE_END.finditer(self.raw)]
        return self._release(ends[-1]) if ends and ends[-1] > len(self.sent) else ""

    def close(self) -> str:
        """The rest, at the end of generation (the final text is ``self.sent``)."""
        if self.blocked:
            return ""
        self.raw = self.raw.rstrip("\ufffd").strip()  # a token cut inside a character; trailing space
        return self._release(len(self.raw)) if len(self.raw) > len(self.sent) else ""
