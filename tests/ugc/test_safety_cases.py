"""The generation safety filter against disguised banned terms (zero-width, soft hyphens, look-alikes, spacing,
leetspeak, hyphens, full width, traditional Chinese, pinyin, homophones, bidi-reversed) and benign near-misses
(tests/data/safety_cases.py). Goal: bypass <= 5 %, false blocks <= 2 %."""

from tests.data.safety_cases import BENIGN, disguised
from ugc import safety


def test_disguised_banned_terms_are_blocked():
    cases = disguised(safety.banned_terms())
    missed = [(text, term) for text, term in cases if f"banned:{term}" not in safety.check(text).reasons]
    assert len(cases) > 250 and len(missed) <= 0.05 * len(cases), missed


def test_benign_near_misses_pass():
    blocked = [(b, safety.check(b).reasons) for b in BENIGN if safety.check(b).blocked]
    assert len(blocked) <= 0.02 * len(BENIGN), blocked
    assert not safety.check("我们去死海旅游").blocked  # the reported false block


def test_terms_from_the_deployment_file_are_normalised_too(tmp_path, monkeypatch):
    f = tmp_path / "banned.txt"
    f.write_text("# comment\nＳｐａｍ Ｌｉｎｋ\n代購\n", encoding="utf-8")
    monkeypatch.setenv("UGC_BANNED_TERMS_FILE", str(f))
    terms = safety.banned_terms()
    assert {"spam link", "代购"} <= set(terms)
    assert safety.check("s.p.a.m l1nk here", terms).blocked and safety.check("专业代 购", terms).blocked
