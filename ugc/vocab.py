"""The shared vocabulary: label and language sets, PII patterns and placeholders, stop words.

Standard library only (``re``): copied next to the Triton generator model with ``safety.py``.

PII patterns are written once, in the regex subset RE2 (Arrow's ``pc.replace_substring_regex``, used by the
vectorised ingest) and Python's ``re`` (the generation safety filter) share. RE2 has no look-around, so each
pattern that must not start or end inside a longer digit run gets its boundaries as captured groups for
Arrow (written back by the replacement) and as look-arounds for Python; ``tests/ugc/test_vocab.py`` checks
that both engines redact the same cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

LABELS = ("negative", "neutral", "positive")
LANGS = ("zh", "en", "other")


@dataclass(frozen=True)
class PiiPattern:
    kind: str
    placeholder: str
    core: str  # valid in RE2 and in Python re
    before: str = ""  # characters that may not touch the match on the left (a class body, e.g. r"\d+")
    after: str = ""  # ... on the right

    @property
    def re2(self) -> str:
        """The RE2 pattern; with boundaries, groups 1 and 3 are the neighbours to write back (\\1 ... \\3)."""
        if not (self.before or self.after):
            return self.core
        left = f"(^|[^{self.before}])" if self.before else "()"
        right = f"([^{self.after}]|$)" if self.after else "()"
        return f"{left}({self.core}){right}"

    @property
    def re2_replacement(self) -> str:
        return rf"\1{self.placeholder}\3" if (self.before or self.after) else self.placeholder

    @cached_property
    def py(self) -> re.Pattern:
        left = f"(?<![{self.before}])" if self.before else ""
        right = f"(?![{self.after}])" if self.after else ""
        return re.compile(f"{left}(?:{self.core}){right}")


# Order matters: URLs and e-mails first (they contain digits), then the longest digit patterns.
PII = (
    PiiPattern("url", "[URL]", r"(?i:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"),
    PiiPattern("email", "[EMAIL]", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    # 18-character PRC resident id numbers (the last may be X).
    PiiPattern("id_number", "[ID]", r"\d{17}[\dXx]", before=r"\d", after=r"\d"),
    # Chinese mobiles (optionally +86), international numbers with '+', and NANP (xxx) xxx-xxxx.
    PiiPattern("phone", "[PHONE]", r"(?:\+?86[\- ]?)?1[3-9]\d(?:[\- ]?\d{4}){2}"
                                   r"|\+\d{1,3}[\- ]?\(?\d{1,4}\)?(?:[\- ]?\d{2,4}){2,4}"
                                   r"|\(?\d{3}\)?[\- .]\d{3}[\- .]\d{4}", before=r"\d+", after=r"\d"),
)
PLACEHOLDERS = {p.kind: p.placeholder for p in PII}
PLACEHOLDER_RE = r"\[(?:" + "|".join(p.placeholder[1:-1] for p in PII) + r")\]"
# A cheap pre-filter: a row that matches none of these cannot contain PII (ingest skips the heavy regexes).
PII_HINT = r"@|://|www\.|\d{7}|\d{3}[\- .]\d{3}"

# Stop words: function words that carry no topic or keyword on their own.
STOP_EN = frozenset(
    "the a an and or but is are was were be been to of in on for with at by it it's this that i you he she we "
    "they my your our its me so very really just not no do does did have has had will would can could should "
    "about as from after before than then there here what which who how all any some more most too also if "
    "get got out say others".split())
STOP_ZH_CHARS = frozenset("的了吗呢吧啊呀嘛么是在和与就都也还又再很太这那我你他她它们个把被给让")
STOP_ZH_WORDS = ("这个", "那个", "真的", "非常", "但是", "虽然", "还是", "就是", "什么", "我们", "你们", "大家", "觉得",
                 "一下", "一个", "已经", "可以", "说实话", "救命", "哈哈")
# Internet filler tags, not content ("lol", "tbh").
EN_TAGS = frozenset({"lol", "tbh", "fr", "imo", "ngl"})


def redact(text: str) -> tuple[str, list[str]]:
    """Replace every PII match with its placeholder (Python engine); returns (text, kinds found)."""
    kinds = []
    for p in PII:
        text, n = p.py.subn(p.placeholder, text)
        if n:
            kinds.append(p.kind)
    return text, kinds
