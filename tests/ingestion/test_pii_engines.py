"""One PII pattern set, two regex engines: the vectorised ingest (RE2 via Arrow) and the generation safety filter
(Python re) must redact exactly the same spans."""

import pyarrow as pa
import pytest

from ingestion import clean
from ugc import safety, vocab

CASES = [
    "call me at 13812345678 ok", "联系 +86 138-1234-5678", "(415) 555-2671 or 415.555.2671", "+44 20 7946 0958",
    "mail me: someone.x@example.com", "see https://t.example.com/abc?x=1 and www.example.org/x",
    "身份证 11010519491231002X 请核对", "order 2026112012345678901 is not a phone", "12345", "13812345678+1",
    "两个号码13812345678和13987654321", "no pii here at all", "a@b", "visit http://例子.com", "",
]


@pytest.mark.parametrize("text", CASES)
def test_ingest_and_safety_filter_redact_the_same(text):
    arrow_text, counts = clean.redact_pii(pa.array([text], pa.string()))
    python_text, kinds = vocab.redact(text)
    assert arrow_text.to_pylist()[0] == python_text
    assert counts.to_pylist()[0] == sum(python_text.count(p) for p in set(vocab.PLACEHOLDERS.values()))
    assert safety.check(text).text == python_text  # the filter uses the same function
    assert kinds == list(dict.fromkeys(p.kind for p in vocab.PII if p.placeholder in python_text))
