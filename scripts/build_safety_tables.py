"""Build ugc/data/safety_tables.json: the character tables the safety filter normalises text with.

Run once when the source packages change (they are dev dependencies; the filter itself needs only the JSON, so
it also runs inside the Triton model's environment):

    .venv/bin/python scripts/build_safety_tables.py

- confusables: look-alike characters -> the ASCII letter or digit they imitate (Unicode confusables data via
  ``confusable-homoglyphs``, MIT), CJK excluded (a Han radical that looks like "l" is still Chinese);
- t2s: traditional -> simplified Chinese characters (OpenCC's TSCharacters, via ``opencc-python-reimplemented``,
  Apache-2.0); the first candidate of each entry;
- pinyin: toneless pinyin of each CJK ideograph (``pypinyin``, MIT), its most common reading.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ugc", "data", "safety_tables.json")
_CJK = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _is_cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _CJK)


def confusables() -> dict[str, str]:
    import confusable_homoglyphs

    data = json.load(open(os.path.join(os.path.dirname(confusable_homoglyphs.__file__), "confusables.json")))
    out = {}
    for key, entries in data.items():
        for e in entries:
            target = e["c"]
            if len(key) == 1 and not key.isascii() and not _is_cjk(key) and len(target) == 1 \
                    and target.isascii() and target.isalnum():
                out[key] = target.lower()
    # Greek and Cyrillic letters the data maps to a symbol, not a letter, but that read as letters in words.
    out.update({"κ": "k", "τ": "t", "ι": "i", "ѵ": "v", "ь": "b", "н": "h", "м": "m", "т": "t", "к": "k", "в": "b",
                "г": "r", "п": "n", "л": "n", "и": "u", "ф": "o", "ω": "w", "υ": "u", "η": "n", "λ": "a"})
    return dict(sorted(out.items()))


def t2s() -> dict[str, str]:
    import opencc

    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            trad, simp = line.rstrip("\n").split("\t")
            simp = simp.split(" ")[0]
            if len(trad) == 1 and len(simp) == 1 and trad != simp:
                out[trad] = simp
    return out


def pinyin() -> dict[str, str]:
    from pypinyin import Style, lazy_pinyin

    out = {}
    for lo, hi in _CJK:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            p = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
            if p and p[0].isascii() and p[0].isalpha():
                out[ch] = p[0].replace("ü", "v")
    return out


def main() -> None:
    tables = {
        "provenance": {
            "confusables": f"confusable-homoglyphs=={md.version('confusable-homoglyphs')} (MIT; Unicode confusables)",
            "t2s": f"opencc-python-reimplemented=={md.version('opencc-python-reimplemented')} (Apache-2.0)",
            "pinyin": f"pypinyin=={md.version('pypinyin')} (MIT)",
        },
        "confusables": confusables(), "t2s": t2s(), "pinyin": pinyin(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(tables, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    print(OUT, {k: len(v) for k, v in tables.items()})


if __name__ == "__main__":
    main()
