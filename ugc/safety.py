"""Safety filter for generated text: banned terms block the text, PII is redacted again.

Standard library and ``ugc.vocab`` / ``ugc.settings`` only: the three files are copied next to the Triton
``generator`` model, which runs this filter on every output before the output leaves the server.

    check("call me at 13812345678")  -> Verdict(text="call me at [PHONE]", blocked=False, reasons=["pii:phone"])
    check("you should kill yourself") -> Verdict(text="", blocked=True, reasons=["banned:kill yourself"])
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ugc import settings, vocab

# A conservative default list (zh + en): self-harm incitement, violence, scams / illegal trade, slurs.
# Deployments extend it with UGC_BANNED_TERMS_FILE (one term per line) or the ``extra`` argument.
DEFAULT_BANNED = (
    "kill yourself", "kys", "go die", "i will kill you", "bomb threat", "buy followers", "fake invoice",
    "wire me money", "crypto giveaway", "retard", "去死", "自杀吧", "杀了你", "炸弹", "代开发票", "刷单",
    "赌博网站", "裸聊", "贷款秒批", "傻逼", "脑残",
)


@dataclass(frozen=True)
class Verdict:
    text: str  # what may be returned ("" when blocked)
    blocked: bool
    reasons: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    # NFKC folds full-width letters (ｋｉｌｌ) and compatibility forms; casefold for English.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).casefold()


def banned_terms(extra: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    terms = list(DEFAULT_BANNED) + list(extra)
    path = settings.BANNED_TERMS_FILE.get()
    if path:
        with open(path, encoding="utf-8") as f:
            terms += [line.strip() for line in f if line.strip() and not line.startswith("#")]
    return tuple(dict.fromkeys(_norm(t) for t in terms))


def _is_word(term: str) -> bool:
    return term.isascii() and term.replace(" ", "").isalnum()


def check(text: str, terms: tuple[str, ...] | None = None) -> Verdict:
    """Block on any banned term (ASCII terms match whole words only), else redact PII."""
    terms = banned_terms() if terms is None else terms
    norm = _norm(text)
    hits = [t for t in terms if (re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", norm) if _is_word(t)
                                 else t in norm)]
    if hits:
        return Verdict("", True, [f"banned:{t}" for t in hits])
    text, kinds = vocab.redact(text)
    return Verdict(text, False, [f"pii:{k}" for k in kinds])
