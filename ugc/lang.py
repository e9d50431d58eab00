"""Language by script, one rule for the lake's ``lang`` column and for routing texts to sentiment experts.

Han characters count one each; Latin letters count a quarter (about one per word), so "今天的iPhone发布会" is
zh and "I love 北京 so much" is en. Kana/Hangul mark ja/ko (other), as does any other script, or no letters at
all (emoji, digits). Counted from UTF-8 lead bytes with numpy only, so the same file runs inside Triton's
python backend (published beside serving/triton_models/runners.py; no pyarrow there) and in ingest.
"""

from __future__ import annotations

import os

import numpy as np

# A routed sentiment model directory: ROUTES ({"experts": [keys]}, the order of the embedding's blocks) and
# experts/<key>/, each an ordinary classifier directory. A key is a language of this module, or DEFAULT_EXPERT
# for the texts of every language without an expert of its own.
ROUTES = "routes.json"
DEFAULT_EXPERT = "default"

# Byte classes packed into one int64 per byte so a single segment sum per string yields all three counts:
# Latin letters (bits 0-19), Han lead bytes (bits 20-39), other-script lead bytes (bits 40-59). Texts are
# capped far below 2**20 bytes.
_LATIN, _HAN, _OTHER = 1, 1 << 20, 1 << 40
_LUT = np.zeros(256, dtype=np.int64)
_LUT[[ord(c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]] = _LATIN
_LUT[0xE4:0xEA] = _HAN  # U+4000..U+9FFF: CJK ideographs
_LUT[0xCD:0xE0] = _OTHER  # U+0370..U+07FF: Greek, Cyrillic, Armenian, Hebrew, Arabic...
_LUT[0xEA:0xEE] = _OTHER  # U+A000..U+DFFF: Hangul syllables (and Yi)


def classify_utf8(buf: np.ndarray, off: np.ndarray) -> np.ndarray:
    """zh / en / other for each string ``buf[off[i]:off[i+1]]`` of a uint8 UTF-8 buffer (``off[0] == 0``)."""
    if len(off) < 2:
        return np.array([], dtype="<U5")
    w = _LUT[buf]
    kana = np.flatnonzero(buf[:-1] == 0xE3)  # U+3040..U+30FF are E3 81..83 xx
    if len(kana):
        second = buf[kana + 1]
        w[kana[(second >= 0x81) & (second <= 0x83)]] = _OTHER
    # Per-string sums as differences of one cumulative sum: empty strings (anywhere, the last one too) are 0.
    cum = np.concatenate([np.zeros(1, np.int64), np.cumsum(w)])
    packed = cum[off[1:]] - cum[off[:-1]]
    latin = packed & (_HAN - 1)
    han = (packed >> 20) & (_HAN - 1)
    other = packed >> 40
    en_units = latin / 4.0
    return np.where((han > 0) & (han >= en_units) & (han >= other), "zh",
                    np.where((en_units > 0) & (en_units >= other), "en", "other"))


def detect(texts: list[str]) -> list[str]:
    """zh / en / other of each text (Python strings; ``ingestion.clean.detect_lang`` for Arrow arrays)."""
    raw = [t.encode("utf-8", "surrogatepass") for t in texts]
    off = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in raw], out=off[1:])
    return classify_utf8(np.frombuffer(b"".join(raw), dtype=np.uint8), off).tolist()


KEYS = (DEFAULT_EXPERT, "zh", "en", "other")


def expert_dir(model_dir: str, key: str) -> str:
    """experts/<key>/ of a routed model directory; a key that is not a language (or the default) is refused, so
    a damaged routes.json cannot point anywhere else."""
    if key not in KEYS:
        raise ValueError(f"expert key {key!r} is not one of {KEYS}")
    return os.path.join(model_dir, "experts", key)


def route(keys: list[str], texts: list[str]) -> np.ndarray:
    """Each text's expert: its language where ``keys`` has an expert of that name, else DEFAULT_EXPERT."""
    langs = np.array(detect(texts), dtype=object)
    out = np.full(len(texts), DEFAULT_EXPERT, dtype=object)
    for k in keys:
        if k != DEFAULT_EXPERT:
            out[langs == k] = k
    return out
