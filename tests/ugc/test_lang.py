"""One language rule: the lake's ``lang`` column (Arrow buffers) and the expert routing (Python strings) agree."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion import clean
from ugc import lang, vocab

# Han, Latin, kana, Hangul, Cyrillic, emoji, digits, spaces and punctuation: every class the rule weighs.
TEXT = st.text(st.one_of(st.sampled_from("这个手机好用了北京abcXYZ ぁアｱ한글Жж😀1 ,.!\n\t"),
                         st.characters(exclude_categories=("Cs",))), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=12))
def test_routing_and_ingest_apply_the_same_rule(texts):
    got = lang.detect(texts)
    assert got == clean.detect_lang(pa.array(texts, pa.string())).to_pylist()
    assert set(got) <= set(vocab.LANGS)


def test_route_sends_languages_with_an_expert_to_it_and_the_rest_to_the_default():
    texts = ["这个手机真的太好用了", "Love this phone", "これはペンです", "", "😀", "I love 北京 so much"]
    assert lang.detect(texts) == ["zh", "en", "other", "other", "other", "en"]
    assert lang.route([lang.DEFAULT_EXPERT, "en"], texts).tolist() == \
        ["default", "en", "default", "default", "default", "en"]
    assert lang.route([lang.DEFAULT_EXPERT], texts).tolist() == ["default"] * 6
    assert lang.route([lang.DEFAULT_EXPERT, "en"], []).tolist() == []


def test_expert_keys_are_languages_so_routes_json_cannot_point_elsewhere():
    assert set(lang.KEYS) == {lang.DEFAULT_EXPERT, *vocab.LANGS}
    assert lang.expert_dir("/m", "en") == "/m/experts/en"
    for bad in ("../../etc", "en/../../x", "", "EN"):
        with pytest.raises(ValueError, match="expert key"):
            lang.expert_dir("/m", bad)
