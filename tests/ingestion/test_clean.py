import re
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion import clean
from ingestion.schema import LABEL_ALIASES
from ugc import vocab


@pytest.mark.parametrize("raw,expected", [
    ("ｆｕｌｌ　ｗｉｄｔｈ１２３", "full width123"),          # NFKC: full-width ASCII + ideographic space
    ("a\u200bb\ufeffc\u00ad", "abc"),                        # zero-width space, BOM, soft hyphen
    ("x\u200dy", "xy"),                                       # ZWJ between letters is noise
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),             # ZWJ inside an emoji sequence is kept
    ("  too   many\tspaces\n\nhere  ", "too many spaces here"),
    ("ctrl\x07char\x1b", "ctrl char"),
    ("今天天气很好，😀", "今天天气很好,😀"),                  # full-width comma -> ASCII under NFKC
    ("\u202eevil bidi", "evil bidi"),
    ("plain ascii stays", "plain ascii stays"),
    ("", ""),
])
def test_normalize_text(raw, expected):
    assert clean.normalize_text(pa.array([raw])).to_pylist() == [expected]


@pytest.mark.parametrize("raw,expected,count", [
    ("call me 13812345678 now", "call me [PHONE] now", 1),
    ("电话+86 138 1234 5678谢谢", "电话[PHONE]谢谢", 1),
    ("us (415) 555-0123 or +44 20 7946 0958", "us [PHONE] or [PHONE]", 2),
    ("mail a.b+c@example.co.uk today", "mail [EMAIL] today", 1),
    ("see https://t.example.com/x?a=1 and www.foo.cn", "see [URL] and [URL]", 2),
    ("order 2026-11-20, 123 items, 100000 views", "order 2026-11-20, 123 items, 100000 views", 0),
    ("13812345678,13912345678", "[PHONE],[PHONE]", 2),
    ("no pii here 你好", "no pii here 你好", 0),
])
def test_redact_pii(raw, expected, count):
    text, n = clean.redact_pii(pa.array([raw]))
    assert text.to_pylist() == [expected]
    assert n.to_pylist() == [count]


@pytest.mark.parametrize("text,lang", [
    ("这个手机真的太好用了", "zh"),
    ("今天的iPhone发布会太棒了", "zh"),
    ("I love 北京 so much, great trip", "en"),
    ("Love this phone, totally worth it", "en"),
    ("これはペンです", "other"),                 # Japanese kana
    ("안녕하세요 반갑습니다", "other"),            # Hangul
    ("Привет, как дела", "other"),              # Cyrillic
    ("😀😀👍 123", "other"),                     # no letters at all
    ("看看 https://example.com/abc 好", "zh"),  # placeholder letters are not language
    ("please mail me at a@b.com 谢谢", "en"),
])
def test_detect_lang(text, lang):
    redacted, n = clean.redact_pii(pa.array([text]))
    assert clean.detect_lang(redacted, n).to_pylist() == [lang]


def test_detect_lang_sliced_and_chunked_arrays():
    arr = pa.chunked_array([["hello world"], ["你好世界", "bonjour"]])
    assert clean.detect_lang(arr).to_pylist() == ["en", "zh", "en"]
    assert clean.detect_lang(pa.array(["x", "你好", "abc"]).slice(1)).to_pylist() == ["zh", "en"]


UTC = UTC


@pytest.mark.parametrize("raw,expected", [
    ("2026-11-20T16:16:58.208000+08:00", datetime(2026, 11, 20, 8, 16, 58, 208000, UTC)),
    ("2026-11-20T01:22:51Z", datetime(2026, 11, 20, 1, 22, 51, tzinfo=UTC)),
    ("2026-11-20 05:18:02", datetime(2026, 11, 20, 5, 18, 2, tzinfo=UTC)),   # naive = UTC
    ("1795189283146", datetime(2026, 11, 20, 15, 41, 23, 146000, UTC)),      # epoch ms
    ("1795189283", datetime(2026, 11, 20, 15, 41, 23, tzinfo=UTC)),          # epoch s
    ("yesterday", None),
    ("2026-13-45", None),
    (None, None),
])
def test_parse_timestamps(raw, expected):
    assert clean.parse_timestamps(pa.array([raw], pa.string())).to_pylist() == [expected]


def _pandas_only(raw: pa.Array, tz: pa.Array | None) -> list:
    """The reference: every non-epoch value through pandas' ISO parser (the parser before the Arrow fast path)."""
    import numpy as np

    nat = np.iinfo(np.int64).min
    us = pc.fill_null(clean.parse_timestamps(raw).cast(pa.int64()), nat).to_numpy().copy()  # the epoch rows
    numeric = np.array([v is not None and bool(re.fullmatch(r"-?[0-9]{9,13}(?:\.[0-9]+)?", v))
                        for v in raw.to_pylist()])
    rest = np.flatnonzero(~numeric & pc.is_valid(raw).to_numpy(zero_copy_only=False))
    if len(rest):
        us[rest] = clean._parse_iso_pandas(raw.take(rest), None if tz is None else tz.take(rest))
    return pa.array(us, pa.int64(), mask=us == nat).cast(pa.timestamp("us", tz="UTC")).to_pylist()


_two = st.one_of(st.integers(0, 61).map("{:02d}".format), st.text("0123456789", min_size=1, max_size=3))
_iso = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, zone: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{zone}",
    st.sampled_from(["2026", "1999", "0001", "9999", "1677", "2262"]), _two, _two, st.sampled_from("TT t"),
    _two, _two, _two, st.sampled_from(["", "", ".5", ".123456", ".1234567", "."]),
    st.sampled_from(["", "", "", "Z", "z", "+08:00", "-05:30", "+0800", "+08", "+23:59", "+24:00", "-00:00", " "]))
_zones = st.sampled_from([None, "+08:00", "-03", "+00:00", "Asia/Shanghai", "America/New_York", "+99:00"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_iso, st.none(), st.text(max_size=30), st.sampled_from(["1795189283", "2026-11-20"])),
                min_size=1, max_size=12),
       st.lists(_zones, min_size=12, max_size=12))
def test_parse_timestamps_arrow_fast_path_equals_pandas(values, zones):
    """Arrow parses the common ISO shapes; every value, with any naive-time zone, gets pandas' answer."""
    raw, tz = pa.array(values, pa.string()), pa.array(zones[:len(values)], pa.string())
    assert clean.parse_timestamps(raw).to_pylist() == _pandas_only(raw, None)
    assert clean.parse_timestamps(raw, tz).to_pylist() == _pandas_only(raw, tz)


def test_text_hash_casefold_and_stability():
    h = clean.text_hash(pa.array(["Hello World", "hello world", "hello  world", "你好"])).to_pylist()
    assert h[0] == h[1] and h[1] != h[2] and len(set(h)) == 3
    # Pinned: stored hashes in the lake must stay comparable across releases (XXH3-64, seed 0).
    assert clean.text_hash(pa.array(["hello"])).to_pylist() == [10760762337991515389]


def test_hash_ids_salted_and_consistent():
    a = clean.hash_ids(pa.array(["u1", "u2", "u1"]), "salt").to_pylist()
    b = clean.hash_ids(pa.array(["u1"]), "other-salt").to_pylist()
    assert a[0] == a[2] != a[1] and len(a[0]) == 32 and b[0] != a[0]
    assert "u1" not in a[0]


@pytest.mark.parametrize("raw,label,invalid", [
    ("Positive", "positive", False), (" neg ", "negative", False), ("0", "neutral", False),
    ("负面", "negative", False), ("", None, False), (None, None, False), ("angry", None, True),
])
def test_normalize_labels(raw, label, invalid):
    got, bad = clean.normalize_labels(pa.array([raw], pa.string()), LABEL_ALIASES)
    assert got.to_pylist() == [label] and bad.to_pylist() == [invalid]


def _everywhere(texts: list[str]) -> list[str]:
    """The reference: every PII pattern on every row, no hints (what redact_pii skips must not matter)."""
    arr = pa.array(texts, pa.string())
    for p in vocab.PII:
        arr = clean._redact_one(p, arr)
    return arr.to_pylist()


# Fragments that make patterns match, nearly match and overlap: each hint gates only its own pattern, so a text
# where pattern B matches but only A's hint is present is where a too-narrow hint would show.
PII_FRAGMENTS = st.sampled_from([
    "13812345678", "138 1234 5678", "1 3 8 1 2 3 4 5 6 7 8", "+86", "(021) 6123 4567", "415.555.2671", "+44 20 7946",
    "a.b@example.com", "x at y dot com", "someone(at)mail(dot)cn", "https://t.cn/AbC", "www.foo.cn", "t.cn/x1",
    "example.com", "微信号 abc_12345", "wxid_abcdef12", "vx:hello123", "QQ 12345678", "扣扣：987654321",
    "110101199003074514", "4111 1111 1111 1111", "4111111111111112", "192.168.0.1", "fe80::1", "2001:db8::ff00:42:8329",
    "一三八零零一三八零零零", "幺三八", "[PHONE]", "[URL]", "订单", "order", " ", ".", "-", ":", "@", "1", "12", "123456",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PII_FRAGMENTS | st.text(max_size=4), max_size=8).map("".join), min_size=1, max_size=8))
def test_hinted_redaction_equals_every_pattern_on_every_row(texts):
    red, counts = clean.redact_pii(pa.array(texts, pa.string()))
    assert red.to_pylist() == _everywhere(texts)
    placeholders = set(vocab.PLACEHOLDERS.values())
    written = [sum(r.count(p) for p in placeholders) - sum(t.count(p) for p in placeholders)
               for t, r in zip(texts, red.to_pylist(), strict=True)]
    assert counts.to_pylist() == written


def test_the_case_tables_redact_as_every_pattern_on_every_row():
    from tests.data.pii_cases import KEEP, LEAKS

    texts = [clean.normalize_text(pa.array([t])).to_pylist()[0] for t in [t for t, _ in LEAKS] + KEEP]
    assert clean.redact_pii(pa.array(texts, pa.string()))[0].to_pylist() == _everywhere(texts)
