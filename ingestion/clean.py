"""Vectorised text cleaning, PII redaction, language detection and timestamp parsing.

All functions take and return Arrow arrays. Heavy regex replaces run only on the rows a cheap
match found (PII, format characters, odd whitespace are rare), which is what keeps the
ingest at six figures of posts per second on two cores.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ugc import lang, vocab

# Invisible format characters (zero-width space/non-joiner, bidi controls, word joiner, BOM,
# soft hyphen). U+200D (zero-width joiner) is handled apart: it glues emoji sequences (👨‍👩‍👧).
_FORMAT = r"[\x{AD}\x{180E}\x{200B}\x{200C}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2060}-\x{206F}\x{FEFF}]"
_ZWJ_BAD_BEFORE = r"(^|[^\p{So}\x{FE0F}\x{1F3FB}-\x{1F3FF}])\x{200D}"
_ZWJ_BAD_AFTER = r"\x{200D}([^\p{So}]|$)"
_CONTROL = r"[\p{Cc}\x{2028}\x{2029}\x{85}]"
_ODD_SPACE = r"\s\s|^\s|\s$|[\t\n\r\f\v]"
_NEEDS_NFKC = r"[\x{A0}-\x{2FF}\x{2000}-\x{2BFF}\x{3000}\x{3200}-\x{33FF}\x{F900}-\x{FAFF}\x{FE30}-\x{FFEF}\x{1D400}-\x{1D7FF}]"

def _where(mask: pa.Array, fn, arr: pa.Array) -> pa.Array:
    """Apply fn only to rows where mask is true (fn is an expensive string kernel)."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return arr
    if pc.all(mask).as_py():  # every row: no gather and scatter
        return fn(arr)
    idx = pc.indices_nonzero(mask)
    changed = fn(arr.take(idx))
    # Scatter the changed rows back in original order.
    return pc.replace_with_mask(arr, mask, changed)


def normalize_text(text: pa.Array) -> pa.Array:
    """NFKC, drop invisible format chars, controls -> space, collapse whitespace, trim."""
    t = _where(pc.match_substring_regex(text, _NEEDS_NFKC), lambda a: pc.utf8_normalize(a, "NFKC"), text)

    def strip_invisible(a):
        a = pc.replace_substring_regex(a, _FORMAT, "")
        a = pc.replace_substring_regex(a, _ZWJ_BAD_BEFORE, r"\1")
        return pc.replace_substring_regex(a, _ZWJ_BAD_AFTER, r"\1")

    t = _where(pc.match_substring_regex(t, r"[\x{AD}\x{180E}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{206F}\x{FEFF}]"),
               strip_invisible, t)

    def fix_space(a):
        a = pc.replace_substring_regex(a, _CONTROL, " ")
        a = pc.replace_substring_regex(a, r"\s+", " ")
        return pc.utf8_trim_whitespace(a)

    return _where(pc.match_substring_regex(t, _ODD_SPACE + "|" + _CONTROL), fix_space, t)


def _placeholder_count(arr: pa.Array) -> np.ndarray:
    return sum(pc.count_substring(arr, p).to_numpy(zero_copy_only=False) for p in set(vocab.PLACEHOLDERS.values()))


def _redact_one(p: vocab.PiiPattern, arr: pa.Array) -> pa.Array:
    """Pattern ``p`` redacted in every row of ``arr``."""
    if p.check:  # validated in Python (Luhn), on the rows its RE2 form matched (a handful per day)
        return _where(pc.match_substring_regex(arr, p.re2),
                      lambda a: pa.array([p.sub(t)[0] for t in a.to_pylist()], pa.string()), arr)
    # Bounded patterns run twice: the captured trailing boundary of one match can be the leading one of the
    # next (RE2 has no look-around).
    for _ in range(2 if p.before or p.after else 1):
        arr = pc.replace_substring_regex(arr, p.re2, p.re2_replacement)
    return arr


def redact_pii(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Replace PII (``ugc.vocab.PII``: links, e-mails, messenger ids, cards, id numbers, IPs, phones) with
    placeholder tokens; return (text, count per row). Each pattern runs only on the rows its own hint matches
    (every match contains its hint: tests/ingestion/test_clean.py compares with every pattern on every row);
    placeholders are counted only in the rows a pattern rewrote."""
    count = pa.array(np.zeros(len(text), dtype=np.int32))
    hint = pc.fill_null(pc.match_substring_regex(text, vocab.PII_HINT), False)
    if not pc.any(hint).as_py():
        return text, count
    idx = pc.indices_nonzero(hint)
    sub = original = text.take(idx)
    for p in vocab.PII:
        sub = _where(pc.match_substring_regex(sub, p.hint), lambda a, p=p: _redact_one(p, a), sub)
    # Count what was actually written (regex counts and replaces disagree on adjacent matches).
    changed = pc.fill_null(pc.not_equal(original, sub), False)
    counts = np.zeros(len(text), dtype=np.int32)
    counts[idx.filter(changed).to_numpy()] = (_placeholder_count(sub.filter(changed))
                                              - _placeholder_count(original.filter(changed)))
    return pc.replace_with_mask(text, hint, sub), pa.array(counts)


def detect_lang(text: pa.Array, pii_placeholders: pa.Array | None = None) -> pa.Array:
    """zh / en / other by script (``ugc.lang``'s rule, on the Arrow buffers: no per-row Python), PII placeholders
    not counted."""
    arr = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if pii_placeholders is not None:  # placeholder tokens are Latin letters, not language
        arr = _where(pc.greater(pii_placeholders, 0),
                     lambda a: pc.replace_substring_regex(a, vocab.PLACEHOLDER_RE, ""), arr)
    arr = arr.cast(pa.large_string()) if arr.type == pa.string() else arr
    n = len(arr)
    if n == 0:
        return pa.array([], pa.string())
    off = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = arr.buffers()[2]
    buf = np.frombuffer(data, dtype=np.uint8)[off[0]:off[-1]] if data is not None else np.zeros(0, np.uint8)
    out = lang.classify_utf8(buf, off - off[0])
    return pa.array(out, pa.string())


_HAS_OFFSET = r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
# The ISO shapes Arrow parses in C++ (what exporters write), with field ranges checked by the pattern so a
# bad value rarely fails Arrow's cast (which would send the whole group to pandas: right, only slower).
_ISO_FAST = (r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
             r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$")
_FIXED_TZ = r"^[+-][0-9]{2}(?::[0-9]{2})?$"
_FAST_RANGE = (-8_000_000_000_000_000, 8_000_000_000_000_000)  # µs, years ~1716..2223: the rest go to pandas
_NAT = np.iinfo(np.int64).min


def parse_timestamps(raw: pa.Array, naive_tz: pa.Array | None = None) -> pa.Array:
    """ISO-8601 (any offset) or epoch seconds/milliseconds -> timestamp[us, UTC].

    An ISO time without an offset is local time of ``naive_tz`` (per row: an IANA name such as
    "Asia/Shanghai" or "+08:00"; null or absent = UTC). Unparseable values become null; the caller
    quarantines them. The common ISO shapes are parsed by Arrow; the rest (other ISO spellings, IANA zones
    for naive times) by pandas, imported only then: its import is most of a worker's start-up.
    """
    raw = raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw
    us = np.full(len(raw), _NAT, dtype=np.int64)
    numeric = pc.fill_null(pc.match_substring_regex(raw, r"^-?[0-9]{9,13}(?:\.[0-9]+)?$"), False)
    idx = np.flatnonzero(numeric.to_numpy(zero_copy_only=False))
    if len(idx):
        num = pc.cast(raw.filter(numeric), pa.float64()).to_numpy()
        secs = np.where(np.abs(num) >= 1e11, num / 1000.0, num)  # 13 digits = milliseconds
        us[idx] = np.round(secs * 1e6).astype(np.int64)
    rest = pc.fill_null(pc.and_(pc.invert(numeric), pc.is_valid(raw)), False).to_numpy(zero_copy_only=False)
    fast = rest & pc.fill_null(pc.match_substring_regex(raw, _ISO_FAST), False).to_numpy(zero_copy_only=False)
    if fast.any():
        done = _parse_iso_arrow(raw, naive_tz, np.flatnonzero(fast), us)
        rest &= ~done
    if rest.any():
        ridx = np.flatnonzero(rest)
        us[ridx] = _parse_iso_pandas(raw.take(ridx), None if naive_tz is None else naive_tz.take(ridx))
    valid = us != _NAT
    return pa.array(us, pa.int64(), mask=~valid).cast(pa.timestamp("us", tz="UTC"))


def _parse_iso_arrow(raw: pa.Array, naive_tz: pa.Array | None, idx: np.ndarray, us: np.ndarray) -> np.ndarray:
    """Parse rows ``idx`` (all matching ``_ISO_FAST``) into ``us``; returns the mask of rows it settled.
    Naive rows whose zone is an IANA name are left to pandas (DST gaps and folds become NaT there)."""
    done = np.zeros(len(us), dtype=bool)
    vals = raw.take(idx)
    zoned = pc.match_substring_regex(vals, r"(?:Z|[+-][0-9]{2}:[0-9]{2})$").to_numpy(zero_copy_only=False)
    shift = np.zeros(len(idx), dtype=np.int64)
    ok = np.ones(len(idx), dtype=bool)
    if naive_tz is not None:
        tz = naive_tz.take(idx)
        has_tz = ~zoned & pc.is_valid(tz).to_numpy(zero_copy_only=False)
        fixed = pc.fill_null(pc.match_substring_regex(tz, _FIXED_TZ), False).to_numpy(zero_copy_only=False)
        ok &= ~has_tz | fixed
        for name in set(tz.filter(pa.array(has_tz & fixed)).to_pylist()):
            rows = has_tz & fixed & pc.fill_null(pc.equal(tz, name), False).to_numpy(zero_copy_only=False)
            try:
                shift[rows] = _tz(name).utcoffset(None) // timedelta(microseconds=1)
            except ValueError:  # "+99:00" passes the config's pattern but is no offset: pandas' rule decides
                ok &= ~rows
    try:
        z = np.flatnonzero(zoned & ok)
        n = np.flatnonzero(~zoned & ok)
        parsed = np.empty(len(idx), dtype=np.int64)
        parsed[z] = vals.take(z).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
        parsed[n] = vals.take(n).cast(pa.timestamp("us")).cast(pa.int64()).to_numpy() - shift[n]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # an impossible date (Feb 30): pandas decides
        return done
    ok &= (parsed > _FAST_RANGE[0]) & (parsed < _FAST_RANGE[1])
    us[idx[ok]] = parsed[ok]
    done[idx[ok]] = True
    return done


def _parse_iso_pandas(raw: pa.Array, naive_tz: pa.Array | None) -> np.ndarray:
    """µs since the epoch (``_NAT`` where unparseable) of ISO strings, by pandas' ISO8601 parser."""
    import pandas as pd

    vals = pd.Series(raw.to_numpy(zero_copy_only=False), dtype=object)
    parsed = pd.to_datetime(vals, utc=True, errors="coerce", format="ISO8601")
    if naive_tz is not None:
        tzs = pd.Series(naive_tz.to_numpy(zero_copy_only=False), dtype=object)
        naive = ~vals.str.strip().str.contains(_HAS_OFFSET, regex=True, na=False) & tzs.notna()
        for tz in tzs[naive].unique():
            m = naive & (tzs == tz)
            local = pd.to_datetime(vals[m], errors="coerce", format="ISO8601")
            try:
                parsed[m] = local.dt.tz_localize(_tz(tz), ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
            except (ValueError, TypeError, AttributeError):  # mixed offsets in one group: leave them UTC
                pass
    ints = pa.array(parsed.dt.as_unit("us")).cast(pa.int64())
    return pc.fill_null(ints, _NAT).to_numpy()


def _tz(name: str):
    """An IANA zone ("Asia/Shanghai") or a fixed offset ("+08:00")."""
    if name[:1] in "+-" and len(name) >= 3:
        sign = -1 if name[0] == "-" else 1
        hh, _, mm = name[1:].partition(":")
        return timezone(sign * timedelta(hours=int(hh), minutes=int(mm or 0)))
    return name


def text_hash(text: pa.Array) -> pa.Array:
    """Stable 64-bit hash of the casefolded text: the dedupe key across days and releases.

    XXH3-64 (seed 0): its output is frozen by the xxHash spec, so stored hashes stay comparable.
    """
    import xxhash

    b = pc.utf8_lower(text).cast(pa.large_binary()).to_pylist()
    return pa.array(np.fromiter(map(xxhash.xxh3_64_intdigest, b), dtype=np.uint64, count=len(b)), pa.uint64())


def hash_ids(ids: pa.Array, salt: str) -> pa.Array:
    """Salted sha256 (first 128 bits, hex) of author ids; each distinct id is hashed once."""
    enc = pc.dictionary_encode(ids)
    digests = [hashlib.sha256(f"{salt}\x1f{v}".encode()).hexdigest()[:32] for v in enc.dictionary.to_pylist()]
    return pa.DictionaryArray.from_arrays(enc.indices, pa.array(digests, pa.string())).dictionary_decode()


def normalize_labels(raw: pa.Array, aliases: dict[str, str]) -> tuple[pa.Array, pa.Array]:
    """(canonical label or null, invalid mask). Blank labels are 'no label', not invalid."""
    key = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
    key = pc.if_else(pc.equal(key, ""), None, key)
    enc = pc.dictionary_encode(key)
    mapped = pa.array([aliases.get(v) for v in enc.dictionary.to_pylist()], pa.string())
    label = pa.DictionaryArray.from_arrays(enc.indices, mapped).dictionary_decode()
    invalid = pc.and_(pc.is_valid(key), pc.is_null(label))
    return label, pc.fill_null(invalid, False)


def parse_confidence(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(float in [0, 1] or null, invalid mask): blank is "no confidence", anything else must be a number in range."""
    key = pc.utf8_trim_whitespace(raw)
    blank = pc.fill_null(pc.equal(key, ""), True)
    numeric = pc.fill_null(pc.match_substring_regex(key, r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"), False)
    value = pc.cast(pc.if_else(numeric, key, None), pa.float64())
    in_range = pc.fill_null(pc.and_(pc.greater_equal(value, 0.0), pc.less_equal(value, 1.0)), False)
    invalid = pc.and_(pc.invert(blank), pc.invert(in_range))
    return pc.cast(pc.if_else(in_range, value, None), pa.float32()), invalid
